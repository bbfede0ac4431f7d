import type { ComponentChildren } from "preact";
import { navigate } from "../lib/router";

interface LinkProps {
  href: string;
  children?: ComponentChildren;
  class?: string;
  title?: string;
  "aria-label"?: string;
  "aria-current"?: "page" | undefined;
  onClick?: (e: MouseEvent) => void;
}

// Link is an anchor that navigates inside the console without a reload;
// modified clicks (new tab, …) keep their browser meaning.
export function Link({ href, onClick, children, ...rest }: LinkProps) {
  return (
    <a
      {...rest}
      href={href}
      onClick={(e) => {
        onClick?.(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
