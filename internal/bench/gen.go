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

// Generator makes a reproducible mix of Linux authentication and daemon
// messages from a hospital's servers.
type Generator struct {
	rng   *rand.Rand
	start time.Time
	n     int
}

// NewGenerator returns a generator for a seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, 0x5eed)), start: time.Now().UTC().Add(-time.Hour)}
}

var (
	hosts   = []string{"ehr-app-01", "ehr-app-02", "pacs-01", "lab-gw", "fw-edge", "dc01", "vpn-01", "ris-db"}
	users   = []string{"jdoe", "asmith", "nurse.kim", "dr.patel", "root", "admin", "svc_backup", "mgarcia", "lchen", "oracle"}
	methods = []string{"password", "publickey"}
)

// Next returns the next event.
func (g *Generator) Next() Event {
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
