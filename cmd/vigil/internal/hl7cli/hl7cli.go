// Package hl7cli provides "vigil hl7 send": it sends the HL7 v2 messages
// of a file (a history of ADT messages an interface engine exported) to a
// server's MLLP listener, one at a time, each acknowledged before the
// next, so that the patient directory holds the stays and care teams
// before the access logs of the same period are imported.
package hl7cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/vigil-siem/vigil/internal/parse/hl7"
	"github.com/vigil-siem/vigil/internal/parse/mllp"
)

// Command returns "vigil hl7".
func Command() *cobra.Command {
	cmd := &cobra.Command{Use: "hl7", Short: "Send HL7 v2 messages to a server (historical ADT feeds)"}
	cmd.AddCommand(sendCommand())
	return cmd
}

// SendStats say what Send did.
type SendStats struct {
	Messages, Accepted int
	// Refused lists the messages answered AE or AR: "message N (control
	// id): code text".
	Refused []string
}

// Send sends every message of data to the MLLP listener at addr, waiting
// for each acknowledgement. A refused message is listed and the next one
// sent; a lost connection is an error.
func Send(ctx context.Context, addr string, tlsConf *tls.Config, data []byte, timeout time.Duration) (SendStats, error) {
	var st SendStats
	d := net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if tlsConf != nil {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return st, fmt.Errorf("MLLP %s: %w", addr, err)
	}
	defer conn.Close()
	r, w := mllp.NewReader(conn, 1<<20), mllp.NewWriter(conn)
	for i, msg := range hl7.SplitMessages(data) {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		st.Messages++
		_ = conn.SetDeadline(time.Now().Add(timeout))
		if err := w.WriteFrame(msg); err != nil {
			return st, fmt.Errorf("MLLP %s: message %d: %w", addr, i+1, err)
		}
		ack, err := r.ReadFrame()
		if err != nil {
			return st, fmt.Errorf("MLLP %s: no acknowledgement of message %d: %w", addr, i+1, err)
		}
		code, text := ackOf(ack)
		if code == "AA" || code == "CA" {
			st.Accepted++
			continue
		}
		id := ""
		if m, err := hl7.Parse(msg, hl7.Limits{}); err == nil {
			id = " (" + m.ControlID + ")"
		}
		st.Refused = append(st.Refused, fmt.Sprintf("message %d%s: %s %s", i+1, id, code, text))
	}
	return st, nil
}

// ackOf reads MSA-1 and MSA-3 of an acknowledgement.
func ackOf(ack []byte) (code, text string) {
	for _, seg := range bytes.Split(ack, []byte("\r")) {
		if bytes.HasPrefix(seg, []byte("MSA|")) {
			f := bytes.Split(seg, []byte("|"))
			if len(f) > 1 {
				code = string(f[1])
			}
			if len(f) > 3 {
				text = string(f[3])
			}
			return code, text
		}
	}
	return "no MSA segment", ""
}

func sendCommand() *cobra.Command {
	var addr, caFile string
	var useTLS, insecure bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "send --mllp HOST:PORT FILE...",
		Short: "Send the HL7 v2 messages of files over MLLP, each acknowledged before the next",
		Long: `Send HL7 v2 messages (one after the other in a file, MLLP framing or blank lines
tolerated) to an MLLP listener, waiting for each acknowledgement: to load the ADT
history of a period (admissions, transfers, discharges, care teams) before
importing the access logs of the same period with vigil ehr import. Messages
the listener refuses (AE, AR) are listed with their control id; the others go
on. Exit status 1 when any was refused.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var tc *tls.Config
			if useTLS {
				tc = &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}
				if caFile != "" {
					pool, err := loadCA(caFile)
					if err != nil {
						return err
					}
					tc.RootCAs = pool
				}
			}
			refused := 0
			for _, path := range args {
				data, err := readFile(path)
				if err != nil {
					return err
				}
				st, err := Send(cmd.Context(), addr, tc, data, timeout)
				for _, r := range st.Refused {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", path, r)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d messages, %d accepted, %d refused\n", path, st.Messages, st.Accepted, len(st.Refused))
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				refused += len(st.Refused)
			}
			if refused > 0 {
				return fmt.Errorf("%d messages refused", refused)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "mllp", "127.0.0.1:2575", "the server's MLLP listener")
	cmd.Flags().BoolVar(&useTLS, "tls", false, "MLLP over TLS")
	cmd.Flags().StringVar(&caFile, "ca", "", "PEM CA bundle to verify the server's certificate (with --tls)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "accept any certificate (with --tls)")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to wait for each acknowledgement")
	return cmd
}

func readFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}
