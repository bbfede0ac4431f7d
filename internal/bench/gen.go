// Package bench measures ingest end to end: it starts a receiver (vigil
// serve, rsyslogd writing a file, or a VictoriaLogs server) as a child
// process, drives it with the same generated security events over TCP
// syslog or HTTP, and reports sustained events per second until everything
// is stored, bytes on disk per event and the receiver's peak RSS.
package bench

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Event is one generated event in the forms the transports need.
type Event struct {
	Syslog []byte // RFC 5424 message, without framing
	JSON   []byte // one NDJSON line (no newline)
}

// Workloads the generator can produce.
const (
	// WorkloadOpenSSH is OpenSSH's sshd messages only (failed and accepted
	// logins, invalid users, disconnects, PAM sessions), as a server
	// under brute force logs them: the workload the ingest targets are
	// stated for.
	WorkloadOpenSSH = "openssh"
	// WorkloadMix is Linux authentication, sudo, firewall and application
	// messages from a hospital's servers.
	WorkloadMix = "mix"
)

// Generator makes a reproducible stream of syslog events.
type Generator struct {
	rng      *rand.Rand
	start    time.Time
	n        int
	workload string
	attacker []string // source addresses that come back, as brute force does
}

// NewGenerator returns a generator of the mixed workload for a seed.
func NewGenerator(seed uint64) *Generator { return NewWorkload(WorkloadMix, seed) }

// NewWorkload returns a generator of a workload for a seed.
func NewWorkload(workload string, seed uint64) *Generator {
	g := &Generator{rng: rand.New(rand.NewPCG(seed, 0x5eed)), start: time.Now().UTC().Add(-time.Hour), workload: workload}
	for range 200 {
		g.attacker = append(g.attacker, fmt.Sprintf("%d.%d.%d.%d", 1+g.rng.IntN(223), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254)))
	}
	return g
}

var (
	hosts   = []string{"ehr-app-01", "ehr-app-02", "pacs-01", "lab-gw", "fw-edge", "dc01", "vpn-01", "ris-db"}
	users   = []string{"jdoe", "asmith", "nurse.kim", "dr.patel", "root", "admin", "svc_backup", "mgarcia", "lchen", "oracle"}
	methods = []string{"password", "publickey"}
)

// Next returns the next event.
func (g *Generator) Next() Event {
	if g.workload == WorkloadOpenSSH {
		return g.nextSSH()
	}
	g.n++
	t := g.start.Add(time.Duration(g.n) * time.Millisecond)
	host := hosts[g.rng.IntN(len(hosts))]
	user := users[g.rng.IntN(len(users))]
	ip := fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254))
	port := 1024 + g.rng.IntN(60000)
	pid := 1000 + g.rng.IntN(30000)
	var app, msg string
	switch k := g.rng.IntN(10); {
	case k < 4:
		app = "sshd"
		if g.rng.IntN(3) == 0 {
			msg = fmt.Sprintf("Accepted %s for %s from %s port %d ssh2", methods[g.rng.IntN(2)], user, ip, port)
		} else {
			msg = fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, ip, port)
		}
	case k < 5:
		app = "sshd"
		msg = fmt.Sprintf("Invalid user %s%d from %s port %d", user, g.rng.IntN(100), ip, port)
	case k < 6:
		app = "sudo"
		msg = fmt.Sprintf("%s : TTY=pts/%d ; PWD=/home/%s ; USER=root ; COMMAND=/usr/bin/systemctl restart ehr-worker@%d", user, g.rng.IntN(8), user, g.rng.IntN(16))
	case k < 7:
		app = "sshd"
		msg = fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", user, 1000+g.rng.IntN(500))
	case k < 8:
		app = "kernel"
		msg = fmt.Sprintf("[UFW BLOCK] IN=eth0 OUT= SRC=%s DST=10.0.0.5 LEN=60 PROTO=TCP SPT=%d DPT=%d", ip, port, []int{22, 445, 3389, 2575}[g.rng.IntN(4)])
	default:
		app = "ehr-worker"
		msg = fmt.Sprintf("job %d finished in %d ms queue=orders status=ok", g.rng.IntN(1_000_000), g.rng.IntN(5000))
	}
	ts := t.Format("2006-01-02T15:04:05.000000Z07:00") // RFC 5424 allows 6 fraction digits
	sl := fmt.Sprintf("<86>1 %s %s %s %d - - %s", ts, host, app, pid, msg)
	js := fmt.Sprintf(`{"@timestamp":%q,"host.name":%q,"process.name":%q,"process.pid":"%d","message":%q}`, ts, host, app, pid, msg)
	return Event{Syslog: []byte(sl), JSON: []byte(js)}
}

var sshUsers = []string{"root", "admin", "test", "oracle", "postgres", "ubuntu", "user", "git", "jdoe", "asmith", "nurse.kim", "dr.patel", "svc_backup", "mgarcia", "lchen", "ftpuser", "pi", "guest", "support", "deploy"}

// nextSSH is one OpenSSH sshd message: mostly an Internet-facing host's
// brute force (failed passwords and invalid users from a set of addresses
// that keep coming back), some legitimate logins with their PAM sessions.
func (g *Generator) nextSSH() Event {
	g.n++
	t := g.start.Add(time.Duration(g.n) * 100 * time.Microsecond)
	host := hosts[g.rng.IntN(len(hosts))]
	user := sshUsers[g.rng.IntN(len(sshUsers))]
	ip := g.attacker[g.rng.IntN(len(g.attacker))]
	if g.rng.IntN(5) == 0 {
		ip = fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(4), g.rng.IntN(256), 1+g.rng.IntN(254))
	}
	port := 1024 + g.rng.IntN(64000)
	pid := 10000 + g.rng.IntN(50000)
	var msg string
	switch k := g.rng.IntN(20); {
	case k < 8:
		msg = fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, ip, port)
	case k < 11:
		msg = fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", user, ip, port)
	case k < 13:
		msg = fmt.Sprintf("Invalid user %s from %s port %d", user, ip, port)
	case k < 15:
		msg = fmt.Sprintf("Connection closed by authenticating user %s %s port %d [preauth]", user, ip, port)
	case k < 16:
		msg = fmt.Sprintf("Received disconnect from %s port %d:11: Bye Bye [preauth]", ip, port)
	case k < 17:
		msg = fmt.Sprintf("Accepted %s for %s from %s port %d ssh2", methods[g.rng.IntN(2)], user, ip, port)
	case k < 18:
		msg = fmt.Sprintf("pam_unix(sshd:session): session opened for user %s(uid=%d) by (uid=0)", user, 1000+g.rng.IntN(500))
	case k < 19:
		msg = fmt.Sprintf("pam_unix(sshd:session): session closed for user %s", user)
	default:
		msg = fmt.Sprintf("Disconnected from user %s %s port %d", user, ip, port)
	}
	ts := t.Format("2006-01-02T15:04:05.000000Z07:00")
	sl := fmt.Sprintf("<38>1 %s %s sshd %d - - %s", ts, host, pid, msg)
	js := fmt.Sprintf(`{"@timestamp":%q,"host.name":%q,"process.name":"sshd","process.pid":"%d","message":%q}`, ts, host, pid, msg)
	return Event{Syslog: []byte(sl), JSON: []byte(js)}
}
