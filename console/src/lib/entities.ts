// Entities: the things a value in an event can name, each with a page.
export type EntityKind = "user" | "host" | "ip" | "patient";

// ENTITY_FIELDS maps field names to the entity their value names.
export const ENTITY_FIELDS: Record<string, EntityKind> = {
  "user.name": "user",
  "user.effective.name": "user",
  "user.target.name": "user",
  "source.user.name": "user",
  "destination.user.name": "user",
  "healthcare.workforce.employee_id": "user",
  "host.name": "host",
  "host.hostname": "host",
  "log.syslog.hostname": "host",
  "source.ip": "ip",
  "destination.ip": "ip",
  "client.ip": "ip",
  "server.ip": "ip",
  "host.ip": "ip",
  "log.source.address": "ip",
  "healthcare.patient.id": "patient",
};

export function entityOf(field: string): EntityKind | undefined {
  return ENTITY_FIELDS[field];
}

export function entityHref(kind: EntityKind, value: string): string {
  return "/entity/" + kind + "/" + encodeURIComponent(value);
}

export const ENTITY_LABEL: Record<EntityKind, string> = { user: "User", host: "Host", ip: "IP address", patient: "Patient" };
