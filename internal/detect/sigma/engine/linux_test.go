package engine

import (
	"slices"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/formats"
)

// linuxLines are syslog messages of a hospital's Linux servers: the sshd
// traffic of the ingest benchmark (brute force, sessions) and lines that
// SigmaHQ's Linux rules are written for.
var linuxLines = []struct {
	line string
	want []string // titles of rules that must match
}{
	{"<38>1 2026-12-07T10:00:00Z ehr-app-01 sshd 12345 - - Failed password for root from 203.0.113.9 port 2222 ssh2", nil},
	{"<38>1 2026-12-07T10:00:00Z ehr-app-01 sshd 12345 - - Failed password for invalid user oracle from 203.0.113.9 port 2223 ssh2", nil},
	{"<38>1 2026-12-07T10:00:00Z pacs-01 sshd 12345 - - Invalid user admin from 203.0.113.9 port 2224", nil},
	{"<38>1 2026-12-07T10:00:00Z pacs-01 sshd 12345 - - Connection closed by authenticating user root 203.0.113.9 port 2225 [preauth]", nil},
	{"<38>1 2026-12-07T10:00:00Z lab-gw sshd 12345 - - Received disconnect from 203.0.113.9 port 2226:11: Bye Bye [preauth]", nil},
	{"<38>1 2026-12-07T10:00:00Z lab-gw sshd 12345 - - Accepted publickey for svc_backup from 10.1.2.3 port 2227 ssh2", nil},
	{"<86>1 2026-12-07T10:00:00Z lab-gw sshd 12345 - - pam_unix(sshd:session): session opened for user jdoe(uid=1001) by (uid=0)", nil},
	{"<38>1 2026-12-07T10:00:00Z dc01 sshd 12345 - - Disconnected from user jdoe 10.1.2.3 port 2228", nil},
	{"<35>1 2026-12-07T10:00:00Z ris-db sshd 12345 - - error: Corrupted MAC on input. [preauth]", []string{"Suspicious OpenSSH Daemon Error"}},
	{"<35>1 2026-12-07T10:00:00Z ris-db sshd 12345 - - error: buffer_get_ret: trying to get more bytes 1907 than in buffer 308 [preauth]", []string{"SSHD Error Message CVE-2018-15473"}},
	{"<78>1 2026-12-07T10:00:00Z ehr-app-02 crontab 4242 - - (root) REPLACE (root)", nil},
	{"<78>1 2026-12-07T10:00:00Z ehr-app-02 cron 4242 - - (root) REPLACE (root)", []string{"Modifying Crontab"}},
	{"<85>1 2026-12-07T10:00:00Z ehr-app-02 sudo - - - jdoe : TTY=pts/0 ; PWD=/home/jdoe ; USER=root ; COMMAND=/usr/bin/systemctl restart httpd", nil},
	{"<85>1 2026-12-07T10:00:00Z ehr-app-02 sudo - - - jdoe : TTY=pts/0 ; PWD=/home/jdoe ; USER=#-1 ; COMMAND=/bin/bash", []string{"Sudo Privilege Escalation CVE-2019-14287 - Builtin"}},
}

// TestLinuxSyslog checks, on Linux syslog events as the server parses
// them, that the rules written for them fire through routing and the
// prefilter, and that the compiled engine matches exactly what the naive
// one (every rule of the event's log sources evaluated) matches, for
// the whole SigmaHQ set: the thousands of Windows rules the routing and
// the prefilter skip could not have matched.
func TestLinuxSyslog(t *testing.T) {
	parse, err := formats.SyslogRecord(formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var events []event.Event
	for _, l := range linuxLines {
		var ev event.Event
		if err := parse([]byte(l.line), &ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	fast, naive := corpusEngine(t, "vigil", true), corpusEngine(t, "vigil", false)
	got, want := matchedRules(fast, events), matchedRules(naive, events)
	w := fast.NewWorker()
	for i, l := range linuxLines {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("%s:\ngot rules %v, naive engine matched %v", l.line, titles(fast, got[i]), titles(naive, want[i]))
		}
		for _, title := range l.want {
			if !slices.Contains(titles(fast, got[i]), title) {
				t.Errorf("%s:\nrule %q did not match (matched %v)", l.line, title, titles(fast, got[i]))
			}
		}
		w.Match(&events[i], func(*Match) {})
		if w.Routed() == 0 || w.Routed() > 100 {
			t.Errorf("%s: routed to %d rules, want the Linux rules of its log sources (1 to 100)", l.line, w.Routed())
		}
		t.Logf("%s: routed to %d rules, matched %v", l.line, w.Routed(), titles(fast, got[i]))
	}
}
