package mllpin

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/parse/mllp"
)

// benchMessage is message n of a kind: "adt-new" registers a new
// patient with an encounter each time (directory inserts), "adt-update"
// sends A08 updates cycling over 500 patients (the directory compares,
// records the message in its ledger, changes nothing else), "oru" sends
// results (no directory work). Control ids are unique, so no message is a
// retransmission.
func benchMessage(kind string, n int) []byte {
	var m string
	switch kind {
	case "adt-new":
		m = msg("ADT^A01^ADT_A01", fmt.Sprintf("B%d", n), "EVN|A01|20240312090000",
			fmt.Sprintf("PID|1||MRN%d^^^GENHOSP^MR||DOE^JOHN^Q||19610615|M|||123 MAIN ST^^SPRINGFIELD^IL^62701", n),
			fmt.Sprintf("PV1|1|I|4WEST^401^A^GENHOSP|E|||D%d^HOUSE^GREGORY|||||||||||V%d^^^GENHOSP^VN", n%40, n))
	case "adt-update":
		m = msg("ADT^A08^ADT_A01", fmt.Sprintf("B%d", n), "EVN|A08|20240312090000",
			fmt.Sprintf("PID|1||MRN%d^^^GENHOSP^MR||DOE^JOHN^Q||19610615|M|||123 MAIN ST^^SPRINGFIELD^IL^62701", n%500),
			fmt.Sprintf("PV1|1|I|4WEST^401^A^GENHOSP|E|||D%d^HOUSE^GREGORY|||||||||||V%d^^^GENHOSP^VN", n%40, n%500))
	default:
		m = msg("ORU^R01^ORU_R01", fmt.Sprintf("B%d", n), fmt.Sprintf("PID|1||MRN%d^^^GENHOSP^MR||DOE^JOHN", n%500),
			"OBR|1|||GLU^Glucose", "OBX|1|NM|GLU^Glucose||5.5|mmol/L|3.9-5.5|N|||F")
	}
	return mllp.AppendFrame(nil, []byte(m))
}

// BenchmarkMLLP measures messages per second end to end on loopback:
// framing, parsing, directory work (ADT), publishing to a real embedded
// bus and waiting for it, and the ACK the sender waits for before sending
// the next message, with 1 and 4 connections.
func BenchmarkMLLP(b *testing.B) {
	for _, kind := range []string{"adt-new", "adt-update", "oru"} {
		for _, conns := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/conns=%d", kind, conns), func(b *testing.B) {
				e := setup(b, bus.Config{}, func(c *Config) { c.Log = quietLog() })
				clients := make([]net.Conn, conns)
				readers := make([]*mllp.Reader, conns)
				for i := range clients {
					c, err := net.Dial("tcp", e.srv.Addr().String())
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					clients[i], readers[i] = c, mllp.NewReader(c, 0)
				}
				b.SetBytes(int64(len(benchMessage(kind, 0))))
				b.ReportAllocs()
				b.ResetTimer()
				var next atomic.Int64
				var wg sync.WaitGroup
				for i := range conns {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							n := next.Add(1) - 1
							if n >= int64(b.N) {
								return
							}
							if _, err := clients[i].Write(benchMessage(kind, int(n))); err != nil {
								b.Error(err)
								return
							}
							ack, err := readers[i].ReadFrame()
							if err != nil || len(ack) < 20 {
								b.Error("no ACK", err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
