package linuxauth

import (
	"strings"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
)

func dump(e *event.Event) string {
	var b strings.Builder
	for _, f := range e.Fields {
		b.WriteString("  " + f.Name + "=" + f.Value + "\n")
	}
	return b.String()
}

// f checks that (process, message) is recognised with exactly the fields
// in want, given as "name=value" strings; no want means not recognised.
func check(t *testing.T, process, message string, want ...string) {
	t.Helper()
	var e event.Event
	ok := Extract(&e, process, message)
	if len(want) == 0 {
		if ok || len(e.Fields) != 0 {
			t.Errorf("%s: %q: recognised, want not:\n%s", process, message, dump(&e))
		}
		return
	}
	if !ok {
		t.Errorf("%s: %q: not recognised", process, message)
		return
	}
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Name+"="+f.Value)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: %q:\ngot  %s\nwant %s", process, message, strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}

const (
	auth = "event.category=authentication"
)

func TestSSHD(t *testing.T) {
	f := func(msg string, want ...string) { t.Helper(); check(t, "sshd", msg, want...) }
	f("Accepted password for alice from 192.0.2.10 port 52211 ssh2",
		auth, "event.action=ssh_login", "event.outcome=success", "event.type=start", "system.auth.ssh.method=password",
		"user.name=alice", "source.ip=192.0.2.10", "source.port=52211")
	f("Accepted publickey for deploy from 198.51.100.7 port 51000 ssh2: ED25519 SHA256:Xyz0123456789abcdefABCDEF",
		auth, "event.action=ssh_login", "event.outcome=success", "event.type=start", "system.auth.ssh.method=publickey",
		"user.name=deploy", "source.ip=198.51.100.7", "source.port=51000", "system.auth.ssh.signature=ED25519 SHA256:Xyz0123456789abcdefABCDEF")
	f("Accepted keyboard-interactive/pam for grace from 2001:db8::25 port 60022 ssh2",
		auth, "event.action=ssh_login", "event.outcome=success", "event.type=start", "system.auth.ssh.method=keyboard-interactive/pam",
		"user.name=grace", "source.ip=2001:db8::25", "source.port=60022")
	f("Accepted gssapi-with-mic for kim@EXAMPLE.COM from 10.1.2.3 port 3333 ssh2",
		auth, "event.action=ssh_login", "event.outcome=success", "event.type=start", "system.auth.ssh.method=gssapi-with-mic",
		"user.name=kim@EXAMPLE.COM", "source.ip=10.1.2.3", "source.port=3333")
	// Certificate key IDs may contain " from ".
	f("Accepted publickey for bob from 10.0.0.1 port 22 ssh2: ED25519-CERT SHA256:abc ID bob from laptop (serial 7) CA ED25519 SHA256:def",
		auth, "event.action=ssh_login", "event.outcome=success", "event.type=start", "system.auth.ssh.method=publickey",
		"user.name=bob", "source.ip=10.0.0.1", "source.port=22", "system.auth.ssh.signature=ED25519-CERT SHA256:abc ID bob from laptop (serial 7) CA ED25519 SHA256:def")
	// UseDNS yes: a host name instead of an address.
	f("Accepted password for alice from ws7.example.org port 52211 ssh2",
		auth, "event.action=ssh_login", "event.outcome=success", "event.type=start", "system.auth.ssh.method=password",
		"user.name=alice", "source.address=ws7.example.org", "source.domain=ws7.example.org", "source.port=52211")
	f("Failed password for root from 203.0.113.5 port 40100 ssh2",
		auth, "event.action=ssh_login", "event.outcome=failure", "event.type=info", "system.auth.ssh.method=password",
		"user.name=root", "source.ip=203.0.113.5", "source.port=40100")
	f("Failed publickey for heidi from 192.0.2.60 port 50123 ssh2: RSA SHA256:abcdef",
		auth, "event.action=ssh_login", "event.outcome=failure", "event.type=info", "system.auth.ssh.method=publickey",
		"user.name=heidi", "source.ip=192.0.2.60", "source.port=50123", "system.auth.ssh.signature=RSA SHA256:abcdef")
	f("Failed password for invalid user admin from 203.0.113.5 port 40022 ssh2",
		auth, "event.action=ssh_invalid_user", "event.outcome=failure", "event.type=info", "system.auth.ssh.method=password",
		"user.name=admin", "source.ip=203.0.113.5", "source.port=40022")
	f("Failed none for invalid user  from 203.0.113.5 port 40022 ssh2",
		auth, "event.action=ssh_invalid_user", "event.outcome=failure", "event.type=info", "system.auth.ssh.method=none",
		"source.ip=203.0.113.5", "source.port=40022")
	// Attacker-chosen names with spaces and a fake address.
	f("Failed password for invalid user x from 1.1.1.1 port 1 from 203.0.113.5 port 40022 ssh2",
		auth, "event.action=ssh_invalid_user", "event.outcome=failure", "event.type=info", "system.auth.ssh.method=password",
		"user.name=x from 1.1.1.1 port 1", "source.ip=203.0.113.5", "source.port=40022")
	f("Failed password for illegal user test from 203.0.113.5 port 22 ssh2",
		auth, "event.action=ssh_invalid_user", "event.outcome=failure", "event.type=info", "system.auth.ssh.method=password",
		"user.name=test", "source.ip=203.0.113.5", "source.port=22")
	f("Invalid user admin from 203.0.113.5 port 40022",
		auth, "event.action=ssh_invalid_user", "event.outcome=failure", "event.type=info", "user.name=admin", "source.ip=203.0.113.5", "source.port=40022")
	f("Invalid user oracle from 203.0.113.5",
		auth, "event.action=ssh_invalid_user", "event.outcome=failure", "event.type=info", "user.name=oracle", "source.ip=203.0.113.5")
	f("Invalid user  from 203.0.113.5 port 40022",
		auth, "event.action=ssh_invalid_user", "event.outcome=failure", "event.type=info", "source.ip=203.0.113.5", "source.port=40022")
	// Disconnects.
	f("Connection closed by 203.0.113.9 port 55012 [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "source.ip=203.0.113.9", "source.port=55012")
	f("Connection closed by authenticating user root 203.0.113.9 port 55012 [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "user.name=root", "source.ip=203.0.113.9", "source.port=55012")
	f("Connection closed by invalid user admin 203.0.113.5 port 40022 [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "user.name=admin", "source.ip=203.0.113.5", "source.port=40022")
	f("Connection closed by 203.0.113.9",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "source.ip=203.0.113.9")
	f("Connection reset by 203.0.113.9 port 55012 [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "source.ip=203.0.113.9", "source.port=55012")
	f("Disconnected from user deploy 198.51.100.7 port 51000",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "user.name=deploy", "source.ip=198.51.100.7", "source.port=51000")
	f("Disconnected from invalid user a port 1 203.0.113.5 port 40022 [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "user.name=a port 1", "source.ip=203.0.113.5", "source.port=40022")
	f("Disconnected from 203.0.113.9 port 55012 [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "source.ip=203.0.113.9", "source.port=55012")
	f("Disconnecting authenticating user root 203.0.113.5 port 40100: Too many authentication failures [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "user.name=root", "source.ip=203.0.113.5", "source.port=40100")
	f("Received disconnect from 198.51.100.7 port 51000:11: disconnected by user",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "source.ip=198.51.100.7", "source.port=51000")
	f("Received disconnect from 203.0.113.5: 11: Bye Bye",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "source.ip=203.0.113.5")
	// Denied by policy or account state.
	f("User carol from 192.0.2.44 not allowed because account is locked",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=account_locked", "user.name=carol", "source.ip=192.0.2.44")
	f("User carol not allowed because account is locked",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=account_locked", "user.name=carol")
	f("User dave from 192.0.2.45 not allowed because not listed in AllowUsers",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=not_allowed", "user.name=dave", "source.ip=192.0.2.45")
	f("User dave from 192.0.2.45 not allowed because listed in DenyUsers",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=not_allowed", "user.name=dave", "source.ip=192.0.2.45")
	f("User dave from 192.0.2.45 not allowed because none of user's groups are listed in AllowGroups",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=not_allowed", "user.name=dave", "source.ip=192.0.2.45")
	f("User svc not allowed because shell /bin/nosuch does not exist",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=invalid_shell", "user.name=svc")
	f("Account erin has expired",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=account_expired", "user.name=erin")
	f("User frank password has expired (password aged)",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=password_expired", "user.name=frank")
	f("ROOT LOGIN REFUSED FROM 203.0.113.5 port 22",
		auth, "event.action=ssh_login_denied", "event.outcome=failure", "event.type=denied", "event.reason=not_allowed", "user.name=root", "source.ip=203.0.113.5", "source.port=22")
	// rsyslog's repeated-message reduction.
	f("message repeated 2 times: [ Failed password for root from 203.0.113.5 port 40100 ssh2]",
		auth, "event.action=ssh_login", "event.outcome=failure", "event.type=info", "system.auth.ssh.method=password",
		"user.name=root", "source.ip=203.0.113.5", "source.port=40100", "log.syslog.repeat_count=2")
	// Not authentication facts (or not ones in the vocabulary).
	f("Server listening on 0.0.0.0 port 22.")
	f("Did not receive identification string from 203.0.113.77 port 61000")
	f("error: maximum authentication attempts exceeded for root from 203.0.113.5 port 40100 ssh2 [preauth]")
	f("PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root")
	f("Accepted")
	f("Failed password")
	f("Failed password for root")
	f("Connection closed by something odd")
	f("message repeated x times: [ y]")
	f("User ")
	// OpenSSH 9.8+ logs from sshd-session.
	check(t, "sshd-session", "Accepted password for alice from 192.0.2.10 port 52300 ssh2",
		auth, "event.action=ssh_login", "event.outcome=success", "event.type=start", "system.auth.ssh.method=password",
		"user.name=alice", "source.ip=192.0.2.10", "source.port=52300")
}

func TestSudo(t *testing.T) {
	f := func(msg string, want ...string) { t.Helper(); check(t, "sudo", msg, want...) }
	f("   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt-get update",
		auth, "event.action=sudo", "event.outcome=success", "event.type=start", "user.name=alice", "user.effective.name=root",
		"process.command_line=/usr/bin/apt-get update", "system.auth.sudo.tty=pts/0", "system.auth.sudo.pwd=/home/alice")
	f("ec2-user : TTY=pts/0 ; PWD=/var/log ; USER=root ; COMMAND=/bin/tail secure",
		auth, "event.action=sudo", "event.outcome=success", "event.type=start", "user.name=ec2-user", "user.effective.name=root",
		"process.command_line=/bin/tail secure", "system.auth.sudo.tty=pts/0", "system.auth.sudo.pwd=/var/log")
	// Newer sudo: more keys; no TTY; a command containing " ; ".
	f("alice : PWD=/ ; USER=postgres ; GROUP=postgres ; TSID=000012 ; ENV=PGDATA=/x ; COMMAND=/bin/sh -c echo a ; echo b",
		auth, "event.action=sudo", "event.outcome=success", "event.type=start", "user.name=alice", "user.effective.name=postgres",
		"process.command_line=/bin/sh -c echo a ; echo b", "system.auth.sudo.pwd=/")
	f("     bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/cat /etc/shadow",
		auth, "event.action=sudo", "event.outcome=failure", "event.type=info", "event.reason=incorrect_password", "user.name=bob", "user.effective.name=root",
		"process.command_line=/bin/cat /etc/shadow", "system.auth.sudo.tty=pts/1", "system.auth.sudo.pwd=/home/bob", "system.auth.sudo.error=3 incorrect password attempts")
	f("bob : 1 incorrect password attempt ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls",
		auth, "event.action=sudo", "event.outcome=failure", "event.type=info", "event.reason=incorrect_password", "user.name=bob", "user.effective.name=root",
		"process.command_line=/bin/ls", "system.auth.sudo.tty=pts/1", "system.auth.sudo.pwd=/home/bob", "system.auth.sudo.error=1 incorrect password attempt")
	f(" mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash",
		auth, "event.action=sudo", "event.outcome=failure", "event.type=denied", "event.reason=not_allowed", "user.name=mallory", "user.effective.name=root",
		"process.command_line=/bin/bash", "system.auth.sudo.tty=pts/2", "system.auth.sudo.pwd=/tmp", "system.auth.sudo.error=user NOT in sudoers")
	f("alice : command not allowed ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/usr/bin/passwd root",
		auth, "event.action=sudo", "event.outcome=failure", "event.type=denied", "event.reason=not_allowed", "user.name=alice", "user.effective.name=root",
		"process.command_line=/usr/bin/passwd root", "system.auth.sudo.tty=pts/0", "system.auth.sudo.pwd=/", "system.auth.sudo.error=command not allowed")
	f("cron : a password is required ; PWD=/ ; USER=root ; COMMAND=/bin/true",
		auth, "event.action=sudo", "event.outcome=failure", "event.type=info", "event.reason=password_required", "user.name=cron", "user.effective.name=root",
		"process.command_line=/bin/true", "system.auth.sudo.pwd=/", "system.auth.sudo.error=a password is required")
	f("pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
		auth, "event.action=session_open", "event.outcome=success", "event.type=start", "service.name=sudo", "system.auth.pam.module=pam_unix",
		"user.name=root", "user.id=0")
	f("pam_unix(sudo:auth): authentication failure; logname=bob uid=1001 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sudo", "system.auth.pam.module=pam_unix",
		"system.auth.pam.logname=bob", "system.auth.pam.tty=/dev/pts/1", "system.auth.pam.ruser=bob", "user.name=bob")
	f("alice : unable to resolve host web01: Name or service not known")
	f("a b : TTY=x ; USER=root ; COMMAND=/bin/ls")
}

func TestSu(t *testing.T) {
	f := func(msg string, want ...string) { t.Helper(); check(t, "su", msg, want...) }
	f("(to root) alice on pts/0",
		auth, "event.action=su", "event.outcome=success", "event.type=start", "user.name=alice", "user.effective.name=root", "system.auth.su.tty=pts/0")
	f("FAILED SU (to root) bob on pts/1",
		auth, "event.action=su", "event.outcome=failure", "event.type=info", "user.name=bob", "user.effective.name=root", "system.auth.su.tty=pts/1")
	f("Successful su for root by alice",
		auth, "event.action=su", "event.outcome=success", "event.type=start", "user.name=alice", "user.effective.name=root")
	f("FAILED su for root by bob",
		auth, "event.action=su", "event.outcome=failure", "event.type=info", "user.name=bob", "user.effective.name=root")
	f("pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)",
		auth, "event.action=su", "event.outcome=success", "event.type=start", "service.name=su", "system.auth.pam.module=pam_unix",
		"user.name=alice", "user.effective.name=root", "user.effective.id=0")
	f("pam_unix(su-l:session): session opened for user postgres by alice(uid=1000)",
		auth, "event.action=su", "event.outcome=success", "event.type=start", "service.name=su-l", "system.auth.pam.module=pam_unix",
		"user.name=alice", "user.effective.name=postgres")
	f("pam_unix(su:session): session closed for user root",
		auth, "event.action=session_close", "event.outcome=success", "event.type=end", "service.name=su", "system.auth.pam.module=pam_unix", "user.name=root")
	f("pam_unix(su:auth): authentication failure; logname=bob uid=1001 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=root",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=su", "system.auth.pam.module=pam_unix",
		"system.auth.pam.logname=bob", "system.auth.pam.tty=/dev/pts/1", "system.auth.pam.ruser=bob", "user.name=root")
	f("+ /dev/pts/0 alice:root")
	f("(to root")
}

func TestPAM(t *testing.T) {
	f := check
	f(t, "sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=root",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sshd", "system.auth.pam.module=pam_unix",
		"system.auth.pam.tty=ssh", "source.ip=203.0.113.5", "user.name=root")
	f(t, "sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=attacker.example.net",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sshd", "system.auth.pam.module=pam_unix",
		"system.auth.pam.tty=ssh", "source.address=attacker.example.net", "source.domain=attacker.example.net")
	f(t, "sshd", "pam_unix(sshd:auth): check pass; user unknown",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "event.reason=user_unknown", "service.name=sshd", "system.auth.pam.module=pam_unix")
	f(t, "sshd", "pam_sss(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5 user=kim",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sshd", "system.auth.pam.module=pam_sss",
		"system.auth.pam.tty=ssh", "source.ip=203.0.113.5", "user.name=kim")
	f(t, "sshd", "pam_sss(sshd:auth): authentication success; logname= uid=0 euid=0 tty=ssh ruser= rhost=10.1.2.3 user=kim",
		auth, "event.action=pam_auth", "event.outcome=success", "event.type=info", "service.name=sshd", "system.auth.pam.module=pam_sss",
		"system.auth.pam.tty=ssh", "source.ip=10.1.2.3", "user.name=kim")
	f(t, "sshd", "pam_faillock(sshd:auth): Consecutive login failures for user judy account temporarily locked",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=denied", "event.reason=account_locked", "service.name=sshd", "system.auth.pam.module=pam_faillock", "user.name=judy")
	f(t, "sshd", "pam_unix(sshd:account): account erin has expired (account expired)",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=denied", "event.reason=account_expired", "service.name=sshd", "system.auth.pam.module=pam_unix", "user.name=erin")
	f(t, "sshd", "pam_unix(sshd:account): expired password for user frank (password aged)",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=denied", "event.reason=password_expired", "service.name=sshd", "system.auth.pam.module=pam_unix", "user.name=frank")
	f(t, "sshd", "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
		auth, "event.action=session_open", "event.outcome=success", "event.type=start", "service.name=sshd", "system.auth.pam.module=pam_unix", "user.name=alice", "user.id=1000")
	f(t, "sshd", "pam_unix(sshd:session): session opened for user alice by (uid=0)",
		auth, "event.action=session_open", "event.outcome=success", "event.type=start", "service.name=sshd", "system.auth.pam.module=pam_unix", "user.name=alice")
	f(t, "sshd", "pam_unix(sshd:session): session closed for user deploy",
		auth, "event.action=session_close", "event.outcome=success", "event.type=end", "service.name=sshd", "system.auth.pam.module=pam_unix", "user.name=deploy")
	f(t, "CRON", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
		auth, "event.action=session_open", "event.outcome=success", "event.type=start", "service.name=cron", "system.auth.pam.module=pam_unix", "user.name=root", "user.id=0")
	f(t, "systemd", "pam_unix(systemd-user:session): session opened for user alice(uid=1000) by alice(uid=0)",
		auth, "event.action=session_open", "event.outcome=success", "event.type=start", "service.name=systemd-user", "system.auth.pam.module=pam_unix", "user.name=alice", "user.id=1000")
	f(t, "login", "pam_unix(login:auth): authentication failure; logname=LOGIN uid=0 euid=0 tty=/dev/tty1 ruser= rhost=  user=ivan",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=login", "system.auth.pam.module=pam_unix",
		"system.auth.pam.logname=LOGIN", "system.auth.pam.tty=/dev/tty1", "user.name=ivan")
	f(t, "sudo", "pam_unix(sudo:auth): auth could not identify password for [bob]",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sudo", "system.auth.pam.module=pam_unix", "user.name=bob")
	f(t, "", "pam_unix(sshd:auth): authentication failure; user=x",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sshd", "system.auth.pam.module=pam_unix", "user.name=x")
	f(t, "unix_chkpwd", "password check failed for user (ivan)",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "user.name=ivan", "system.auth.pam.module=unix_chkpwd")
	f(t, "unix_chkpwd", "account erin has expired (account expired)",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=denied", "event.reason=account_expired", "system.auth.pam.module=unix_chkpwd", "user.name=erin")
	f(t, "passwd", "pam_unix(passwd:chauthtok): password changed for alice")
	f(t, "sshd", "pam_unix(sshd:session)")
	f(t, "sshd", "pam_(:")
	f(t, "sshd", "pam_x(a): b")
	f(t, "kernel", "Accepted password for alice from 192.0.2.10 port 52211 ssh2")
}

// TestExtractInto: existing fields are replaced, not duplicated.
func TestExtractInto(t *testing.T) {
	var e event.Event
	e.Add("user.name", "someone")
	e.Add("message", "x")
	if !ExtractInto(&e, "sshd", "Failed password for root from 203.0.113.5 port 40100 ssh2", nil) {
		t.Fatal("not recognised")
	}
	n := 0
	for _, f := range e.Fields {
		if f.Name == "user.name" {
			n++
		}
	}
	if n != 1 || e.Value("user.name") != "root" || e.Value("event.action") != "ssh_login" {
		t.Errorf("fields:\n%s", dump(&e))
	}
	scratch := &event.Event{}
	before := len(e.Fields)
	if ExtractInto(&e, "sshd", "not an auth message", scratch) || len(e.Fields) != before {
		t.Errorf("unrecognised message changed the event:\n%s", dump(&e))
	}
}

// FuzzExtract: never panics, and recognised messages always carry the
// four event fields with values from the vocabulary.
// Seeds: testdata/fuzz/FuzzExtract.
func FuzzExtract(f *testing.F) {
	f.Add("sshd", "Accepted password for alice from 192.0.2.10 port 52211 ssh2")
	f.Add("sudo", "alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls")
	f.Add("su", "pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)")
	actions := map[string]bool{ActionSSHLogin: true, ActionSSHInvalidUser: true, ActionSSHDisconnect: true, ActionSSHLoginDenied: true,
		ActionSudo: true, ActionSu: true, ActionPAMAuth: true, ActionSessionOpen: true, ActionSessionClose: true}
	outcomes := map[string]bool{"success": true, "failure": true, "unknown": true}
	types := map[string]bool{"start": true, "end": true, "info": true, "denied": true}
	f.Fuzz(func(t *testing.T, process, message string) {
		var e event.Event
		if !Extract(&e, process, message) {
			if len(e.Fields) != 0 {
				t.Fatalf("%q %q: not recognised but fields added", process, message)
			}
			return
		}
		if e.Value("event.category") != "authentication" || !actions[e.Value("event.action")] ||
			!outcomes[e.Value("event.outcome")] || !types[e.Value("event.type")] {
			t.Fatalf("%q %q: fields outside the vocabulary:\n%s", process, message, dump(&e))
		}
		seen := map[string]bool{}
		for _, fl := range e.Fields {
			if seen[fl.Name] {
				t.Fatalf("%q %q: field %s twice", process, message, fl.Name)
			}
			seen[fl.Name] = true
		}
	})
}

// TestOldPAM: Linux-PAM before 0.99 logged through the program's own
// syslog ident with the module in parentheses, "sshd(pam_unix)[PID]: TEXT",
// with the texts of pam_unix's support.c and pam_unix_sess.c.
func TestOldPAM(t *testing.T) {
	f := check
	f(t, "sshd(pam_unix)", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.23  user=root",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sshd", "system.auth.pam.module=pam_unix",
		"system.auth.pam.tty=NODEVssh", "source.ip=198.51.100.23", "user.name=root")
	// Unknown user: no user= part.
	f(t, "sshd(pam_unix)", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=host-7.example.net ",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sshd", "system.auth.pam.module=pam_unix",
		"system.auth.pam.tty=NODEVssh", "source.address=host-7.example.net", "source.domain=host-7.example.net")
	f(t, "sshd(pam_unix)", "check pass; user unknown",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "event.reason=user_unknown", "service.name=sshd", "system.auth.pam.module=pam_unix")
	f(t, "sshd(pam_unix)", "session opened for user alice by (uid=0)",
		auth, "event.action=session_open", "event.outcome=success", "event.type=start", "service.name=sshd", "system.auth.pam.module=pam_unix", "user.name=alice")
	f(t, "crond(pam_unix)", "session closed for user root",
		auth, "event.action=session_close", "event.outcome=success", "event.type=end", "service.name=crond", "system.auth.pam.module=pam_unix", "user.name=root")
	f(t, "su(pam_unix)", "session opened for user root by alice(uid=500)",
		auth, "event.action=su", "event.outcome=success", "event.type=start", "service.name=su", "system.auth.pam.module=pam_unix", "user.name=alice", "user.effective.name=root")
	f(t, "login(pam_unix)", "account bob has expired (account expired)",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=denied", "event.reason=account_expired", "service.name=login", "system.auth.pam.module=pam_unix", "user.name=bob")
	// Summaries of failures already logged one by one are not mapped.
	f(t, "sshd(pam_unix)", "1 more authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.23  user=root")
	f(t, "sshd(pam_unix)", "bad username [foo]")
	f(t, "(pam_unix)", "session closed for user root")
	// rsyslog repetition of an old-style line.
	f(t, "sshd(pam_unix)", "message repeated 2 times: [ authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=198.51.100.23  user=root]",
		auth, "event.action=pam_auth", "event.outcome=failure", "event.type=info", "service.name=sshd", "system.auth.pam.module=pam_unix",
		"system.auth.pam.tty=NODEVssh", "source.ip=198.51.100.23", "user.name=root", "log.syslog.repeat_count=2")
}

// TestSSHDErrorPrefix: OpenSSH logs some messages through error(), which
// prefixes "error: "; they mean the same as without it.
func TestSSHDErrorPrefix(t *testing.T) {
	f := func(msg string, want ...string) { t.Helper(); check(t, "sshd", msg, want...) }
	f("error: Received disconnect from 198.51.100.9 port 40022:3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "source.ip=198.51.100.9", "source.port=40022")
	f("error: Received disconnect from 198.51.100.9: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
		auth, "event.action=ssh_disconnect", "event.outcome=unknown", "event.type=end", "source.ip=198.51.100.9")
	f("error: maximum authentication attempts exceeded for root from 198.51.100.9 port 40022 ssh2 [preauth]")
	f("error: PAM: Authentication failure for root from 198.51.100.9")
	f("error: ")
	f("error: kex_exchange_identification: Connection closed by remote host")
}
