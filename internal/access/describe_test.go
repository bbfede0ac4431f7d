package access

import "testing"

// Every role and permission is described: the roles page shows the
// descriptions beside the matrix, and a new one must say what it is.
func TestEveryRoleAndPermissionIsDescribed(t *testing.T) {
	for r := range Roles {
		if RoleDescriptions[r] == "" {
			t.Errorf("role %s has no description in RoleDescriptions", r)
		}
	}
	for r := range RoleDescriptions {
		if _, ok := Roles[r]; !ok {
			t.Errorf("RoleDescriptions describes %q, which is not a role", r)
		}
	}
	for _, p := range All {
		if PermissionDescriptions[p] == "" {
			t.Errorf("permission %s has no description in PermissionDescriptions", p)
		}
	}
	if len(PermissionDescriptions) != len(All) {
		t.Errorf("%d permission descriptions for %d permissions", len(PermissionDescriptions), len(All))
	}
}
