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

// benchMessages are ADT A08 updates of 500 patients (each one a
// directory write) or ORU results (no directory work).
func benchMessages(kind string) [][]byte {
	var out [][]byte
	for i := range 500 {
		var m string
		switch kind {
		case "adt":
			m = msg("ADT^A08^ADT_A01", fmt.Sprintf("B%d", i), "EVN|A08|20240312090000",
				fmt.Sprintf("PID|1||MRN%d^^^GENHOSP^MR||DOE^JOHN^Q||19610615|M|||123 MAIN ST^^SPRINGFIELD^IL^62701", i),
				fmt.Sprintf("PV1|1|I|4WEST^401^A^GENHOSP|E|||D%d^HOUSE^GREGORY|||||||||||V%d^^^GENHOSP^VN", i%40, i))
		default:
			m = msg("ORU^R01^ORU_R01", fmt.Sprintf("B%d", i), fmt.Sprintf("PID|1||MRN%d^^^GENHOSP^MR||DOE^JOHN", i),
				"OBR|1|||GLU^Glucose", "OBX|1|NM|GLU^Glucose||5.5|mmol/L|3.9-5.5|N|||F")
		}
		out = append(out, mllp.AppendFrame(nil, []byte(m)))
	}
	return out
}

// BenchmarkMLLP measures messages per second end to end on loopback:
// framing, parsing, directory update (ADT), publishing to a real embedded
// bus and waiting for it, and the ACK the sender waits for before sending
// the next message, with 1 and 4 connections.
func BenchmarkMLLP(b *testing.B) {
	for _, kind := range []string{"adt", "oru"} {
		for _, conns := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/conns=%d", kind, conns), func(b *testing.B) {
				e := setup(b, bus.Config{}, func(c *Config) { c.Log = quietLog() })
				msgs := benchMessages(kind)
				var size int
				for _, m := range msgs {
					size += len(m)
				}
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
				b.SetBytes(int64(size / len(msgs)))
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
							if _, err := clients[i].Write(msgs[n%int64(len(msgs))]); err != nil {
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
