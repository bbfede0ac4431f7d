import { useEffect } from "preact/hooks";
import { useStored } from "../lib/hooks";

type Theme = "system" | "light" | "dark";

export function applyTheme(t: Theme) {
  const dark = t === "dark" || (t === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

export function ThemeToggle() {
  const [theme, setTheme] = useStored<Theme>("vigil.theme", "system");
  useEffect(() => applyTheme(theme), [theme]);
  return (
    <label class="theme-toggle">
      <span class="sr-only">Theme</span>
      <select value={theme} onChange={(e) => setTheme((e.target as HTMLSelectElement).value as Theme)}>
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
