package access

import (
	"os"
	"strings"
	"testing"
)

// TestDocsMatrix: docs/access.md carries the permission matrix exactly as
// the code grants it, and every role is a column of it.
func TestDocsMatrix(t *testing.T) {
	if len(matrixRoles) != len(Roles) {
		t.Fatalf("matrixRoles has %d roles, Roles %d: add the new role to matrixRoles", len(matrixRoles), len(Roles))
	}
	for _, r := range matrixRoles {
		if _, ok := Roles[r]; !ok {
			t.Fatalf("matrixRoles names %q, which is not a role", r)
		}
	}
	doc, err := os.ReadFile("../../docs/access.md")
	if err != nil {
		t.Fatal(err)
	}
	m := MatrixMarkdown()
	if !strings.Contains(string(doc), m) {
		t.Fatalf("docs/access.md does not carry the permission matrix in effect; replace its table with:\n\n%s", m)
	}
	if !strings.Contains(m, "| `phi` | See protected health information unmasked everywhere | ✓ |  | ✓ |  |  |  |") {
		t.Fatalf("matrix rows are not what the roles grant:\n%s", m)
	}
}
