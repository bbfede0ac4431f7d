package compliance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vigil-siem/vigil/internal/web"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/report"
)

var migrations = []string{`
CREATE TABLE reports (
	id           INTEGER PRIMARY KEY,
	kind         TEXT NOT NULL,
	period_from  INTEGER NOT NULL,
	period_to    INTEGER NOT NULL,
	generated    INTEGER NOT NULL,
	generated_by TEXT NOT NULL,
	sha256       TEXT NOT NULL,
	pdf          BLOB NOT NULL,
	html         BLOB NOT NULL,
	csv          BLOB NOT NULL
);
CREATE INDEX reports_generated ON reports (generated);
CREATE TABLE report_signoffs (
	id        INTEGER PRIMARY KEY,
	report_id INTEGER NOT NULL REFERENCES reports(id),
	reviewer  TEXT NOT NULL,
	role      TEXT NOT NULL,
	comment   TEXT NOT NULL,
	signed    INTEGER NOT NULL,
	sha256    TEXT NOT NULL,
	recorded_by TEXT NOT NULL
);`}

// Stored is a generated report as kept: its PDF, HTML and CSV, the
// SHA-256 of the PDF (what a sign-off attests), and its sign-offs.
type Stored struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	From        time.Time `json:"period_from"`
	To          time.Time `json:"period_to"`
	Generated   time.Time `json:"generated"`
	GeneratedBy string    `json:"generated_by"`
	SHA256      string    `json:"sha256"`
	Signoffs    []Signoff `json:"signoffs"`
}

// Signoff is a reviewer's attestation of one report.
type Signoff struct {
	ID       int64     `json:"id"`
	Reviewer string    `json:"reviewer"`
	Role     string    `json:"role,omitempty"`
	Comment  string    `json:"comment,omitempty"`
	Signed   time.Time `json:"signed"`
	// SHA256 is the report's PDF hash the reviewer signed off.
	SHA256     string `json:"sha256"`
	RecordedBy string `json:"recorded_by,omitempty"`
}

// Mailer sends a generated report (e-mail delivery).
type Mailer interface {
	SendReport(ctx context.Context, to []string, subject, body string, attachments map[string][]byte) error
}

// Service generates reports, keeps them with their sign-offs, and sends
// scheduled ones.
type Service struct {
	DB *sql.DB
	// Inputs builds the inputs of a report (fresh for each).
	Inputs func(ctx context.Context) Inputs
	// Audit records a generation or a sign-off (nil: none).
	Audit func(ctx context.Context, action, target string, details map[string]string)
	Log   *slog.Logger
	Now   func() time.Time

	mu sync.Mutex

	schedMu sync.Mutex
	sched   *ScheduleStatus // nil: no schedule runs
}

// ScheduleStatus is the state of the report schedule, as GET
// /api/v1/reports shows it: how often, to whom, when next, and how the
// last scheduled run went.
type ScheduleStatus struct {
	EverySeconds float64   `json:"every_seconds"`
	EmailTo      []string  `json:"email_to"`
	Next         time.Time `json:"next"`
	Last         time.Time `json:"last,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
}

// Schedule returns the state of the report schedule (nil: none runs).
func (s *Service) Schedule() *ScheduleStatus {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	if s.sched == nil {
		return nil
	}
	st := *s.sched
	return &st
}

func (s *Service) setSchedule(f func(*ScheduleStatus)) {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	f(s.sched)
}

// Open prepares the tables.
func (s *Service) Open(ctx context.Context) error {
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	return db.Migrate(ctx, s.DB, "reports", migrations)
}

// Kinds of report.
const KindHIPAA = "hipaa"

// Generate builds, renders and keeps a report of kind for [from, to).
func (s *Service) Generate(ctx context.Context, kind string, from, to time.Time, by string) (*Stored, map[report.Format][]byte, error) {
	if kind != KindHIPAA {
		return nil, nil, fmt.Errorf("unknown report %q (want hipaa)", kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.Inputs(ctx)
	in.GeneratedBy = by
	now := s.Now().UTC()
	doc, err := HIPAA(ctx, in, from, to, now)
	if err != nil {
		return nil, nil, err
	}
	out := map[report.Format][]byte{}
	for _, f := range []report.Format{report.PDF, report.HTML, report.CSV} {
		var buf bytes.Buffer
		if err := report.Render(&buf, doc, f); err != nil {
			return nil, nil, err
		}
		out[f] = buf.Bytes()
	}
	sum := sha256.Sum256(out[report.PDF])
	st := &Stored{Kind: kind, From: from.UTC(), To: to.UTC(), Generated: now, GeneratedBy: by, SHA256: hex.EncodeToString(sum[:]), Signoffs: []Signoff{}}
	res, err := s.DB.ExecContext(ctx, `INSERT INTO reports (kind, period_from, period_to, generated, generated_by, sha256, pdf, html, csv) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		kind, st.From.UnixNano(), st.To.UnixNano(), now.UnixNano(), by, st.SHA256, out[report.PDF], out[report.HTML], out[report.CSV])
	if err != nil {
		return nil, nil, fmt.Errorf("keep report: %w", err)
	}
	st.ID, _ = res.LastInsertId()
	if s.Audit != nil {
		s.Audit(ctx, "report.generate", "report/"+strconv.FormatInt(st.ID, 10), map[string]string{"kind": kind, "from": st.From.Format(time.RFC3339), "to": st.To.Format(time.RFC3339), "sha256": st.SHA256})
	}
	return st, out, nil
}

// List returns the kept reports, newest first, with their sign-offs.
func (s *Service) List(ctx context.Context, limit int) ([]Stored, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, kind, period_from, period_to, generated, generated_by, sha256 FROM reports ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	var out []Stored
	for rows.Next() {
		var (
			st            Stored
			from, to, gen int64
		)
		if err := rows.Scan(&st.ID, &st.Kind, &from, &to, &gen, &st.GeneratedBy, &st.SHA256); err != nil {
			rows.Close()
			return nil, err
		}
		st.From, st.To, st.Generated = time.Unix(0, from).UTC(), time.Unix(0, to).UTC(), time.Unix(0, gen).UTC()
		out = append(out, st)
	}
	rows.Close()
	for i := range out {
		if out[i].Signoffs, err = s.signoffs(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) signoffs(ctx context.Context, id int64) ([]Signoff, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, reviewer, role, comment, signed, sha256, recorded_by FROM report_signoffs WHERE report_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Signoff{}
	for rows.Next() {
		var (
			so     Signoff
			signed int64
		)
		if err := rows.Scan(&so.ID, &so.Reviewer, &so.Role, &so.Comment, &signed, &so.SHA256, &so.RecordedBy); err != nil {
			return nil, err
		}
		so.Signed = time.Unix(0, signed).UTC()
		out = append(out, so)
	}
	return out, rows.Err()
}

// Get returns a kept report in one format.
func (s *Service) Get(ctx context.Context, id int64, f report.Format) ([]byte, *Stored, error) {
	col := map[report.Format]string{report.PDF: "pdf", report.HTML: "html", report.CSV: "csv"}[f]
	if col == "" {
		return nil, nil, fmt.Errorf("unknown format %q", f)
	}
	var (
		data          []byte
		st            Stored
		from, to, gen int64
	)
	err := s.DB.QueryRowContext(ctx, `SELECT `+col+`, id, kind, period_from, period_to, generated, generated_by, sha256 FROM reports WHERE id = ?`, id).
		Scan(&data, &st.ID, &st.Kind, &from, &to, &gen, &st.GeneratedBy, &st.SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	st.From, st.To, st.Generated = time.Unix(0, from).UTC(), time.Unix(0, to).UTC(), time.Unix(0, gen).UTC()
	return data, &st, nil
}

// ErrNotFound is a report that does not exist.
var ErrNotFound = errors.New("no such report")

// SignOff records a reviewer's attestation of report id. sha256, when
// given, must be the report's (what the reviewer read); sign-offs are
// never changed or removed.
func (s *Service) SignOff(ctx context.Context, id int64, so Signoff) (Signoff, error) {
	so.Reviewer, so.Role, so.Comment = strings.TrimSpace(so.Reviewer), strings.TrimSpace(so.Role), strings.TrimSpace(so.Comment)
	if so.Reviewer == "" || len(so.Reviewer) > 200 || len(so.Role) > 200 || len(so.Comment) > 4000 {
		return so, errors.New("a sign-off needs the reviewer's name (at most 200 characters; comment at most 4000)")
	}
	_, st, err := s.Get(ctx, id, report.CSV)
	if err != nil {
		return so, err
	}
	if so.SHA256 != "" && !strings.EqualFold(so.SHA256, st.SHA256) {
		return so, fmt.Errorf("the report's SHA-256 is %s, not %s: sign off the report you read", st.SHA256, so.SHA256)
	}
	so.SHA256, so.Signed = st.SHA256, s.Now().UTC()
	res, err := s.DB.ExecContext(ctx, `INSERT INTO report_signoffs (report_id, reviewer, role, comment, signed, sha256, recorded_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, so.Reviewer, so.Role, so.Comment, so.Signed.UnixNano(), so.SHA256, so.RecordedBy)
	if err != nil {
		return so, err
	}
	so.ID, _ = res.LastInsertId()
	if s.Audit != nil {
		s.Audit(ctx, "report.signoff", "report/"+strconv.FormatInt(id, 10), map[string]string{"reviewer": so.Reviewer, "sha256": so.SHA256})
	}
	return so, nil
}

// Schedule generates a report every Every, covering the Every before, and
// mails it.
type Schedule struct {
	Every  time.Duration
	To     []string
	Mailer Mailer
}

// RunSchedule generates and sends until ctx ends; Schedule tells how it
// goes.
func (s *Service) RunSchedule(ctx context.Context, sch Schedule) {
	t := time.NewTicker(sch.Every)
	defer t.Stop()
	to := sch.To
	if to == nil {
		to = []string{}
	}
	s.schedMu.Lock()
	s.sched = &ScheduleStatus{EverySeconds: sch.Every.Seconds(), EmailTo: to, Next: s.Now().Add(sch.Every).UTC()}
	s.schedMu.Unlock()
	defer func() {
		s.schedMu.Lock()
		s.sched = nil
		s.schedMu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		began := s.Now().UTC()
		err := s.Deliver(ctx, sch)
		if err != nil && ctx.Err() == nil {
			s.Log.Error("scheduled report", "err", err)
		}
		s.setSchedule(func(st *ScheduleStatus) {
			st.Last, st.Next, st.LastError = began, began.Add(sch.Every), ""
			if err != nil {
				st.LastError = err.Error()
			}
		})
	}
}

// Deliver generates the report of the last sch.Every and mails it.
func (s *Service) Deliver(ctx context.Context, sch Schedule) error {
	to := s.Now()
	st, out, err := s.Generate(ctx, KindHIPAA, to.Add(-sch.Every), to, "schedule")
	if err != nil {
		return err
	}
	if sch.Mailer == nil || len(sch.To) == 0 {
		return nil
	}
	subject := fmt.Sprintf("Vigil HIPAA evidence report %s to %s", st.From.Format("2006-01-02"), st.To.Format("2006-01-02"))
	body := fmt.Sprintf("The HIPAA Security Rule evidence report for %s to %s is attached (PDF and CSV).\n\nReport %d, SHA-256 %s.\nA reviewer signs it off in Vigil: POST /api/v1/reports/%d/signoff, or the console.\n",
		st.From.Format(time.RFC3339), st.To.Format(time.RFC3339), st.ID, st.SHA256, st.ID)
	name := fmt.Sprintf("vigil-hipaa-%s", st.To.Format("2006-01-02"))
	return sch.Mailer.SendReport(ctx, sch.To, subject, body, map[string][]byte{name + ".pdf": out[report.PDF], name + ".csv": out[report.CSV]})
}

// Routes serve the reports API:
//
//	POST /api/v1/reports/hipaa?since=-30d&until=now&format=pdf   generate and keep; the report in that format (headers X-Vigil-Report-Id, X-Vigil-Report-SHA256)
//	GET  /api/v1/reports                                         kept reports with their sign-offs; the schedule (null: none)
//	GET  /api/v1/reports/{id}?format=pdf|html|csv                a kept report
//	POST /api/v1/reports/{id}/signoff                            {"reviewer", "role", "comment", "sha256"}
func (s *Service) Routes(parseTime func(string, time.Time) (time.Time, error), actor func(*http.Request) string) map[string]http.Handler {
	fail := func(w http.ResponseWriter, status int, err error) {
		web.WriteJSON(w, status, map[string]string{"error": err.Error()})
	}
	format := func(r *http.Request) (report.Format, error) {
		v := r.URL.Query().Get("format")
		if v == "" {
			v = "pdf"
		}
		return report.ParseFormat(v)
	}
	send := func(w http.ResponseWriter, f report.Format, st *Stored, data []byte) {
		w.Header().Set("Content-Type", f.ContentType())
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="vigil-%s-%d%s"`, st.Kind, st.ID, f.Ext()))
		w.Header().Set("X-Vigil-Report-Id", strconv.FormatInt(st.ID, 10))
		w.Header().Set("X-Vigil-Report-SHA256", st.SHA256)
		w.Write(data)
	}
	return map[string]http.Handler{
		"POST /api/v1/reports/{kind}": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f, err := format(r)
			if err != nil {
				fail(w, http.StatusBadRequest, err)
				return
			}
			now := s.Now()
			from, to := now.Add(-30*24*time.Hour), now
			if v := r.URL.Query().Get("since"); v != "" {
				if from, err = parseTime(v, now); err != nil {
					fail(w, http.StatusBadRequest, err)
					return
				}
			}
			if v := r.URL.Query().Get("until"); v != "" {
				if to, err = parseTime(v, now); err != nil {
					fail(w, http.StatusBadRequest, err)
					return
				}
			}
			st, out, err := s.Generate(r.Context(), r.PathValue("kind"), from, to, actor(r))
			if err != nil {
				fail(w, http.StatusBadRequest, err)
				return
			}
			send(w, f, st, out[f])
		}),
		"GET /api/v1/reports": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l, err := s.List(r.Context(), 200)
			if err != nil {
				fail(w, http.StatusInternalServerError, err)
				return
			}
			if l == nil {
				l = []Stored{}
			}
			web.WriteJSON(w, http.StatusOK, map[string]any{"reports": l, "schedule": s.Schedule()})
		}),
		"GET /api/v1/reports/{id}": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil {
				fail(w, http.StatusBadRequest, errors.New("report id must be a number"))
				return
			}
			f, err := format(r)
			if err != nil {
				fail(w, http.StatusBadRequest, err)
				return
			}
			data, st, err := s.Get(r.Context(), id, f)
			if errors.Is(err, ErrNotFound) {
				fail(w, http.StatusNotFound, err)
				return
			}
			if err != nil {
				fail(w, http.StatusInternalServerError, err)
				return
			}
			send(w, f, st, data)
		}),
		"POST /api/v1/reports/{id}/signoff": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
			if err != nil {
				fail(w, http.StatusBadRequest, errors.New("report id must be a number"))
				return
			}
			var so Signoff
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&so); err != nil {
				fail(w, http.StatusBadRequest, fmt.Errorf("want {\"reviewer\", \"role\", \"comment\", \"sha256\"}: %w", err))
				return
			}
			so.RecordedBy = actor(r)
			so, err = s.SignOff(r.Context(), id, so)
			switch {
			case errors.Is(err, ErrNotFound):
				fail(w, http.StatusNotFound, err)
			case err != nil:
				fail(w, http.StatusBadRequest, err)
			default:
				web.WriteJSON(w, http.StatusCreated, so)
			}
		}),
	}
}
