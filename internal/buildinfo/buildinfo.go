// Package buildinfo says which Vigil is running: its version, the source
// revision it was built from and the Go toolchain, for `vigil --version`
// and the vigil_build_info metric.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is set at release builds:
//
//	go build -ldflags "-X github.com/vigil-siem/vigil/internal/buildinfo.version=1.2.3" ./cmd/vigil
var version string

// Info describes a build.
type Info struct {
	Version   string // release version, or the module version, or "devel"
	Revision  string // VCS revision ("" when unknown), "+dirty" when modified
	Time      string // VCS commit time (RFC 3339), "" when unknown
	GoVersion string
}

// Read returns the running binary's build information.
func Read() Info {
	info := Info{Version: version, GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && info.Revision != "" {
			info.Revision += "+dirty"
		}
	}
	if info.Version == "" {
		info.Version = "devel"
	}
	return info
}

// String is the one-line form `vigil --version` prints.
func (i Info) String() string {
	s := i.Version
	if i.Revision != "" {
		s += " (" + i.Revision
		if i.Time != "" {
			s += ", " + i.Time
		}
		s += ")"
	}
	return fmt.Sprintf("%s, %s", s, i.GoVersion)
}
