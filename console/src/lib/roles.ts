// The roles and what they grant, as the server enforces them
// (GET /api/v1/roles): the roles page, and the role pickers of the users
// and tokens pages, read them from there so they cannot drift.
import { apiJSON } from "./api";
import { useFetch, type Fetched } from "./hooks";

export interface RoleInfo {
  name: string;
  description: string;
  permissions: string[];
  // mfa_required: local users with the role must enrol a second factor.
  mfa_required: boolean;
}

export interface PermissionInfo {
  name: string;
  description: string;
}

export interface RoleMatrix {
  roles: RoleInfo[];
  permissions: PermissionInfo[];
}

let cached: Promise<RoleMatrix> | null = null;

// fetchRoles asks once per page load; a failure is not kept.
export function fetchRoles(): Promise<RoleMatrix> {
  if (!cached) {
    cached = apiJSON<RoleMatrix>("/api/v1/roles");
    cached.catch(() => (cached = null));
  }
  return cached;
}

export function useRoles(): Fetched<RoleMatrix> {
  return useFetch(() => fetchRoles(), []);
}
