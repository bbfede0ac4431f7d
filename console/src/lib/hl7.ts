// Readable forms of HL7 v2 values the directory keeps as received.

// firstSub is the first subcomponent of an HL7 component ("RGH&1.2.3&ISO"
// names the facility RGH).
const firstSub = (s: string | undefined) => (s ?? "").split("&")[0].trim();

// location renders an HL7 PL (patient location, PV1-3: point of
// care^room^bed^facility^status^type^building^floor^description) as
// "ICU, room 123, bed B (RGH)"; a value without components is shown as
// it is.
export function formatLocation(pl: string | undefined): string {
  if (!pl) return "";
  if (!pl.includes("^")) return pl;
  const c = pl.split("^").map(firstSub);
  const [poc, room, bed, facility] = c;
  const building = c[6];
  const floor = c[7];
  const description = c[8];
  const parts = [
    poc,
    building && `building ${building}`,
    floor && `floor ${floor}`,
    room && `room ${room}`,
    bed && `bed ${bed}`,
  ].filter(Boolean);
  let out = parts.join(", ");
  if (description) out = out ? `${out}, ${description}` : description;
  if (facility) out = out ? `${out} (${facility})` : facility;
  return out || pl;
}

export interface CareTeamMember {
  provider_id: string;
  role: string;
  family?: string;
  given?: string;
}

// careTeam lists each provider once with every role they hold in the
// encounter (an attending physician who also admitted the patient is one
// person, "attending, admitting"), in the order they first appear.
export function careTeamByPerson(members: CareTeamMember[]): { name: string; roles: string[] }[] {
  const byKey = new Map<string, { name: string; roles: string[] }>();
  for (const m of members) {
    const name = [m.family, m.given].filter(Boolean).join(", ") || m.provider_id;
    const key = m.provider_id || name;
    const e = byKey.get(key);
    if (!e) byKey.set(key, { name, roles: m.role ? [m.role] : [] });
    else if (m.role && !e.roles.includes(m.role)) e.roles.push(m.role);
  }
  return [...byKey.values()];
}

// PATIENT_CLASS names the HL7 patient classes (PV1-2, table 0004).
export const PATIENT_CLASS: Record<string, string> = {
  B: "obstetrics",
  C: "commercial account",
  E: "emergency",
  I: "inpatient",
  N: "not applicable",
  O: "outpatient",
  P: "preadmit",
  R: "recurring patient",
  U: "unknown",
};

// patientClass names an HL7 patient class code; other values as they are.
export const patientClass = (c: string | undefined) => (c ? (PATIENT_CLASS[c] ?? c) : "");

// hl7Date renders an HL7 date (YYYYMMDD, as in PID-7) as YYYY-MM-DD;
// other values as they are (a masked one, an ISO date).
export const hl7Date = (d: string | undefined) => (d && /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : (d ?? ""));
