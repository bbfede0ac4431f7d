import { Link } from "./link";
import { entityHref, type EntityKind } from "../lib/entities";

// EntityLink shows a value that names a user, host, IP or patient as a link
// to its page.
export function EntityLink({ kind, value }: { kind: EntityKind; value: string }) {
  if (!value) return null;
  return (
    <Link href={entityHref(kind, value)} title={"Open " + kind + " " + value}>
      {value}
    </Link>
  );
}
