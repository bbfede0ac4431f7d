package firewall

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/cputime"
	"github.com/vigil-siem/vigil/internal/event"
)

func benchParse(b *testing.B, d Dialect, msgid, msg string) {
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	var e event.Event
	cpu := cputime.Self()
	for b.Loop() {
		e.Reset()
		if err := Parse(&e, d, msgid, msg, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu, b.N)
}

func BenchmarkFortinet(b *testing.B) {
	benchParse(b, Fortinet, "", `date=2024-11-28 time=10:16:00 devname="FGT-EDGE" devid="FG100F0000000001" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=203.0.113.50 srcport=40000 srcintf="wan1" dstip=198.51.100.2 dstport=3389 dstintf="lan" proto=6 action="deny" policyid=0 service="RDP" sentbyte=0 rcvdbyte=0`)
}

func BenchmarkPANOS(b *testing.B) {
	benchParse(b, PANOS, "", `1,2024/11/28 10:21:00,012801000001,TRAFFIC,end,2561,2024/11/28 10:20:59,10.20.1.15,93.184.216.34,198.51.100.2,93.184.216.34,Allow-Web,example\alice,,ssl,vsys1,trust,untrust,ethernet1/2,ethernet1/1,Log-Forwarding,2024/11/28 10:20:59,123456,1,53012,443,61012,443,0x400053,tcp,allow,45056,5120,39936,64,2024/11/28 10:20:47,12,computer-and-internet-info,0,7000000001,0x0,10.0.0.0-10.255.255.255,United States,0,24,40,tcp-fin,0,0,0,0,,PA-3220,from-policy`)
}

func BenchmarkASA(b *testing.B) {
	benchParse(b, ASA, "ASA-6-302013", `Built outbound TCP connection 3052 for outside:93.184.216.34/443 (93.184.216.34/443) to inside:10.20.1.15/53014 (198.51.100.2/61014)`)
}

func BenchmarkFilterlog(b *testing.B) {
	benchParse(b, Filterlog, "", `5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,203.0.113.50,198.51.100.2,40003,22,0,S,2416861829,,65228,,mss;nop;wscale;sackOK;TS`)
}
