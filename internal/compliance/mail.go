package compliance

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/wneessen/go-mail"
)

// SMTPMailer sends reports by e-mail (the notification settings'
// notify.smtp.*), with STARTTLS as configured.
type SMTPMailer struct {
	Host, Username, Password, From string
	Port                           int
	// StartTLS: mandatory (default), opportunistic or none.
	StartTLS string
	// TLS verifies the server (nil: the system's roots).
	TLS *tls.Config
}

// SendReport sends body with the attachments.
func (m *SMTPMailer) SendReport(ctx context.Context, to []string, subject, body string, attachments map[string][]byte) error {
	msg := mail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return fmt.Errorf("report mail from: %w", err)
	}
	if err := msg.To(to...); err != nil {
		return fmt.Errorf("report mail to: %w", err)
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, body)
	for name, data := range attachments {
		if err := msg.AttachReader(name, bytes.NewReader(data)); err != nil {
			return fmt.Errorf("attach %s: %w", name, err)
		}
	}
	policy := mail.TLSMandatory
	switch m.StartTLS {
	case "opportunistic":
		policy = mail.TLSOpportunistic
	case "none":
		policy = mail.NoTLS
	}
	tc := &tls.Config{}
	if m.TLS != nil {
		tc = m.TLS.Clone()
	}
	tc.ServerName, tc.MinVersion = m.Host, tls.VersionTLS12
	opts := []mail.Option{mail.WithPort(m.Port), mail.WithTLSPolicy(policy), mail.WithTLSConfig(tc), mail.WithTimeout(30 * time.Second)}
	if m.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(m.Username), mail.WithPassword(m.Password))
	}
	c, err := mail.NewClient(m.Host, opts...)
	if err != nil {
		return err
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("send report mail: %w", err)
	}
	return nil
}
