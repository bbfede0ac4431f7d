// Package response runs response actions: HTTP requests built from an
// alert (disable an account in the directory, block an address at the
// firewall through its API, open a ticket), attached to rules or run from
// an alert by hand. Every request is rendered from templates with the
// alert's variables and can be tried as a dry run; anything marked
// disruptive, and any action whose alert names an address in a protected
// network (the medical-device VLANs), waits for a second person's approval
// — also when it was started automatically. Every run is recorded with
// who asked, who approved, what was sent and what came back.
package response

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"text/template"
	"time"

	"github.com/vigil-siem/vigil/internal/alerts"
	"github.com/vigil-siem/vigil/internal/apierr"
	"github.com/vigil-siem/vigil/internal/config"
	"github.com/vigil-siem/vigil/internal/db"
	"github.com/vigil-siem/vigil/internal/notify"
)

var migrations = []string{`
CREATE TABLE response_runs (
	id              INTEGER PRIMARY KEY,
	action          TEXT NOT NULL,
	alert_id        INTEGER NOT NULL,
	status          TEXT NOT NULL, -- dry_run, pending_approval, running, succeeded, failed, rejected
	dry_run         INTEGER NOT NULL,
	approval        TEXT NOT NULL, -- why approval is needed ("" when not)
	requested_by    TEXT NOT NULL,
	requested_at    INTEGER NOT NULL,
	decided_by      TEXT NOT NULL,
	decided_at      INTEGER NOT NULL,
	decision_reason TEXT NOT NULL,
	method          TEXT NOT NULL,
	url             TEXT NOT NULL,
	headers         TEXT NOT NULL,
	body            TEXT NOT NULL,
	response_status INTEGER NOT NULL,
	response_body   TEXT NOT NULL,
	error           TEXT NOT NULL,
	finished_at     INTEGER NOT NULL
);
CREATE INDEX response_runs_alert ON response_runs (alert_id, id);
CREATE INDEX response_runs_status ON response_runs (status, id);`}

// Action is a compiled response action.
type Action struct {
	Name        string        `json:"name"`
	Description string        `json:"description,omitempty"`
	Method      string        `json:"method"`
	URL         string        `json:"url"` // the template
	Disruptive  bool          `json:"disruptive"`
	Rules       []string      `json:"rules,omitempty"`
	Auto        bool          `json:"auto"`
	Where       string        `json:"defined_at"`
	Timeout     time.Duration `json:"-"`
	secret      string
	url, body   *template.Template
	headers     map[string]*template.Template
}

// Run is one recorded run of an action.
type Run struct {
	ID             int64             `json:"id"`
	Action         string            `json:"action"`
	AlertID        int64             `json:"alert_id"`
	Status         string            `json:"status"`
	DryRun         bool              `json:"dry_run"`
	Approval       string            `json:"approval_required,omitempty"`
	RequestedBy    string            `json:"requested_by"`
	RequestedAt    time.Time         `json:"requested_at"`
	DecidedBy      string            `json:"decided_by,omitempty"`
	DecidedAt      *time.Time        `json:"decided_at,omitempty"`
	DecisionReason string            `json:"decision_reason,omitempty"`
	Method         string            `json:"method"`
	URL            string            `json:"url"`
	Headers        map[string]string `json:"headers,omitempty"`
	Body           string            `json:"body,omitempty"`
	ResponseStatus int               `json:"response_status,omitempty"`
	ResponseBody   string            `json:"response_body,omitempty"`
	Error          string            `json:"error,omitempty"`
	FinishedAt     *time.Time        `json:"finished_at,omitempty"`
}

// Options configure the runner.
type Options struct {
	Alerts interface {
		Get(ctx context.Context, id int64) (alerts.Alert, error)
	}
	// Protected are the networks whose addresses make every action wait
	// for approval.
	Protected  []netip.Prefix
	HTTPClient *http.Client
	Log        *slog.Logger
	Now        func() time.Time
}

// Runner runs and records actions.
type Runner struct {
	db      *sql.DB
	opt     Options
	actions []*Action
	byName  map[string]*Action
}

// Errors of the API.
var (
	ErrNotFound    = apierr.NotFound("not found")
	ErrState       = apierr.Conflict("the run is not waiting for approval")
	ErrSelfApprove = apierr.Conflict("the person who asked for a run cannot approve it")
)

// InputError is a request that cannot be made from the alert.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// HTTPStatus: a request that cannot be made is bad input.
func (e *InputError) HTTPStatus() int { return http.StatusBadRequest }

var funcs = template.FuncMap{
	// json writes a value as JSON (quoted and escaped strings): use it for
	// every variable inside a JSON body.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
}

// New compiles the configured actions.
func New(ctx context.Context, d *sql.DB, cfg []config.Action, protected []string, opt Options) (*Runner, error) {
	if err := db.Migrate(ctx, d, "response", migrations); err != nil {
		return nil, err
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{}
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	for _, p := range protected {
		pf, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("response.protected_networks: %q: %w", p, err)
		}
		opt.Protected = append(opt.Protected, pf.Masked())
	}
	r := &Runner{db: d, opt: opt, byName: map[string]*Action{}}
	for _, c := range cfg {
		a := &Action{Name: c.Name, Description: c.Description, Method: strings.ToUpper(c.Method), URL: c.URL, Disruptive: c.Disruptive,
			Rules: c.Rules, Auto: c.Auto, Where: c.Where, secret: c.Secret, headers: map[string]*template.Template{}, Timeout: 15 * time.Second}
		if a.Method == "" {
			a.Method = http.MethodPost
		}
		if c.Timeout != "" {
			d, err := config.ParseDuration(c.Timeout)
			if err != nil {
				return nil, fmt.Errorf("%s: timeout: %w", c.Where, err)
			}
			a.Timeout = d
		}
		var err error
		parse := func(name, text string) *template.Template {
			if err != nil {
				return nil
			}
			var t *template.Template
			t, err = template.New(name).Funcs(funcs).Option("missingkey=error").Parse(text)
			if err != nil {
				err = fmt.Errorf("%s: action %q: %s: %w", c.Where, c.Name, name, err)
			}
			return t
		}
		a.url = parse("url", c.URL)
		a.body = parse("body", c.Body)
		for k, v := range c.Headers {
			a.headers[k] = parse("headers."+k, v)
		}
		if err != nil {
			return nil, err
		}
		r.actions = append(r.actions, a)
		r.byName[a.Name] = a
	}
	return r, nil
}

// Actions lists the configured actions.
func (r *Runner) Actions() []*Action { return r.actions }

// For lists the actions proposed for an alert: those attached to its
// rule, then the others.
func (r *Runner) For(a alerts.Alert) (attached, other []*Action) {
	for _, x := range r.actions {
		if x.attached(a.RuleID) {
			attached = append(attached, x)
		} else {
			other = append(other, x)
		}
	}
	return attached, other
}

func (x *Action) attached(rule string) bool {
	for _, g := range x.Rules {
		if ok, _ := path.Match(strings.ToLower(g), strings.ToLower(rule)); ok {
			return true
		}
	}
	return false
}

// vars are what templates see.
type vars struct {
	Alert alerts.Alert
	// Fields are the alert's key fields with its group-by values over them.
	Fields map[string]string
	Now    time.Time
}

// Field is an alert variable that must be there: {{.Field "source.ip"}}
// fails the request when the alert has no such field (index .Fields
// gives "" instead).
func (v vars) Field(name string) (string, error) {
	x, ok := v.Fields[name]
	if !ok || x == "" {
		return "", fmt.Errorf("the alert has no %s for this action", name)
	}
	return x, nil
}

func (r *Runner) vars(a alerts.Alert) vars {
	f := map[string]string{}
	for k, v := range a.Fields {
		f[k] = v
	}
	for k, v := range a.GroupBy {
		f[k] = v
	}
	return vars{Alert: a, Fields: f, Now: r.opt.Now().UTC()}
}

// render builds the request of an action for an alert.
func (r *Runner) render(x *Action, a alerts.Alert) (Run, error) {
	v := r.vars(a)
	exec := func(t *template.Template) (string, error) {
		var b bytes.Buffer
		if err := t.Execute(&b, v); err != nil {
			msg := err.Error()
			if i := strings.Index(msg, "the alert has no "); i >= 0 {
				msg = msg[i:]
			}
			return "", &InputError{Msg: fmt.Sprintf("action %s: %s: %s", x.Name, t.Name(), msg)}
		}
		return b.String(), nil
	}
	run := Run{Action: x.Name, AlertID: a.ID, Method: x.Method, Headers: map[string]string{}}
	var err error
	if run.URL, err = exec(x.url); err != nil {
		return run, err
	}
	if u, perr := url.Parse(run.URL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return run, &InputError{Msg: fmt.Sprintf("action %s: the rendered URL %q is not an http(s) URL", x.Name, run.URL)}
	}
	if run.Body, err = exec(x.body); err != nil {
		return run, err
	}
	for k, t := range x.headers {
		if run.Headers[k], err = exec(t); err != nil {
			return run, err
		}
	}
	return run, nil
}

// approvalNeeded says why an action on an alert waits for approval.
func (r *Runner) approvalNeeded(x *Action, a alerts.Alert) string {
	if x.Disruptive {
		return "disruptive action"
	}
	for _, m := range []map[string]string{a.GroupBy, a.Fields} {
		for k, v := range m {
			ip, err := netip.ParseAddr(strings.TrimSpace(v))
			if err != nil {
				continue
			}
			for _, p := range r.opt.Protected {
				if p.Contains(ip.Unmap()) {
					return fmt.Sprintf("%s %s is in the protected network %s", k, v, p)
				}
			}
		}
	}
	return ""
}

// Request starts an action on an alert for actor: a dry run records the
// request it would send; an action that needs approval waits for it;
// anything else runs now. It returns the run as recorded.
func (r *Runner) Request(ctx context.Context, alertID int64, name string, dryRun bool, actor string) (Run, error) {
	x := r.byName[name]
	if x == nil {
		return Run{}, fmt.Errorf("action %q: %w", name, ErrNotFound)
	}
	a, err := r.opt.Alerts.Get(ctx, alertID)
	if err != nil {
		return Run{}, err
	}
	run, err := r.render(x, a)
	if err != nil {
		return run, err
	}
	run.DryRun, run.RequestedBy, run.RequestedAt = dryRun, actor, r.opt.Now().UTC()
	run.Approval = r.approvalNeeded(x, a)
	switch {
	case dryRun:
		run.Status = "dry_run"
	case run.Approval != "":
		run.Status = "pending_approval"
	default:
		run.Status = "running"
	}
	real := run.Headers
	if err := r.insert(ctx, &run); err != nil {
		return run, err
	}
	if run.Status == "running" {
		r.execute(ctx, x, &run)
	}
	run.Headers = redacted(real)
	return run, nil
}

// Decide approves (running the action now) or rejects a run waiting for
// approval. The requester cannot approve their own run.
func (r *Runner) Decide(ctx context.Context, id int64, approve bool, actor, reason string) (Run, error) {
	run, err := r.Get(ctx, id)
	if err != nil {
		return run, err
	}
	if run.Status != "pending_approval" {
		return run, ErrState
	}
	if approve && actor == run.RequestedBy {
		return run, ErrSelfApprove
	}
	x := r.byName[run.Action]
	now := r.opt.Now().UTC()
	status := "rejected"
	if approve {
		status = "running"
		if x == nil {
			status = "failed"
			run.Error = "the action is no longer configured"
		}
	}
	res, err := r.db.ExecContext(ctx, `UPDATE response_runs SET status = ?, decided_by = ?, decided_at = ?, decision_reason = ?, error = ? WHERE id = ? AND status = 'pending_approval'`,
		status, actor, now.UnixNano(), reason, run.Error, id)
	if err != nil {
		return run, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return run, ErrState // decided meanwhile
	}
	run.Status, run.DecidedBy, run.DecidedAt, run.DecisionReason = status, actor, &now, reason
	if status == "running" {
		// The request is rendered again from the alert as it is now, and
		// must be the one that was approved.
		var again Run
		a, err := r.opt.Alerts.Get(ctx, run.AlertID)
		if err == nil {
			if again, err = r.render(x, a); err == nil && (again.URL != run.URL || again.Body != run.Body) {
				err = errors.New("the alert changed since the request was made: ask again")
			}
		}
		if err != nil {
			run.Status, run.Error = "failed", err.Error()
			r.finish(ctx, &run)
			return run, nil
		}
		// Sent with the real headers; recorded ones stay redacted.
		shown := run.Headers
		run.Headers = again.Headers
		r.execute(ctx, x, &run)
		run.Headers = shown
	}
	return run, nil
}

// execute sends the request and records the outcome.
func (r *Runner) execute(ctx context.Context, x *Action, run *Run) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), x.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, run.Method, run.URL, strings.NewReader(run.Body))
	if err == nil {
		for k, v := range run.Headers {
			req.Header.Set(k, v)
		}
		if req.Header.Get("Content-Type") == "" && run.Body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("User-Agent", "Vigil")
		req.Header.Set("X-Vigil-Run", fmt.Sprint(run.ID))
		if x.secret != "" {
			req.Header.Set("X-Vigil-Signature", notify.Sign(x.secret, []byte(run.Body)))
		}
		var resp *http.Response
		resp, err = r.opt.HTTPClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			run.ResponseStatus, run.ResponseBody = resp.StatusCode, string(body)
			if resp.StatusCode/100 != 2 {
				err = fmt.Errorf("answered %d", resp.StatusCode)
			}
		}
	}
	run.Status = "succeeded"
	if err != nil {
		run.Status, run.Error = "failed", err.Error()
	}
	r.finish(ctx, run)
	r.opt.Log.Info("response action run", "action", run.Action, "alert", run.AlertID, "run", run.ID, "status", run.Status)
}

func (r *Runner) finish(ctx context.Context, run *Run) {
	now := r.opt.Now().UTC()
	run.FinishedAt = &now
	if _, err := r.db.ExecContext(context.WithoutCancel(ctx), `UPDATE response_runs SET status = ?, response_status = ?, response_body = ?, error = ?, finished_at = ? WHERE id = ?`,
		run.Status, run.ResponseStatus, run.ResponseBody, run.Error, now.UnixNano(), run.ID); err != nil {
		r.opt.Log.Error("response run outcome not recorded", "run", run.ID, "err", err)
	}
}

// secretHeader reports headers whose values are credentials.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	return n == "authorization" || strings.Contains(n, "token") || strings.Contains(n, "secret") || strings.Contains(n, "key") || strings.Contains(n, "cookie")
}

func redacted(h map[string]string) map[string]string {
	shown := map[string]string{}
	for k, v := range h {
		if secretHeader(k) {
			v = "[redacted]"
		}
		shown[k] = v
	}
	return shown
}

func (r *Runner) insert(ctx context.Context, run *Run) error {
	hb, _ := json.Marshal(redacted(run.Headers))
	dr := 0
	if run.DryRun {
		dr = 1
	}
	res, err := r.db.ExecContext(ctx, `INSERT INTO response_runs (action, alert_id, status, dry_run, approval, requested_by, requested_at, decided_by, decided_at, decision_reason,
		method, url, headers, body, response_status, response_body, error, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', 0, '', ?, ?, ?, ?, 0, '', '', 0)`,
		run.Action, run.AlertID, run.Status, dr, run.Approval, run.RequestedBy, run.RequestedAt.UnixNano(), run.Method, run.URL, string(hb), run.Body)
	if err != nil {
		return err
	}
	run.ID, _ = res.LastInsertId()
	return nil
}

const runColumns = `id, action, alert_id, status, dry_run, approval, requested_by, requested_at, decided_by, decided_at, decision_reason, method, url, headers, body,
	response_status, response_body, error, finished_at`

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var run Run
	var dr int
	var req, dec, fin int64
	var hb string
	if err := sc.Scan(&run.ID, &run.Action, &run.AlertID, &run.Status, &dr, &run.Approval, &run.RequestedBy, &req, &run.DecidedBy, &dec, &run.DecisionReason,
		&run.Method, &run.URL, &hb, &run.Body, &run.ResponseStatus, &run.ResponseBody, &run.Error, &fin); err != nil {
		return run, err
	}
	run.DryRun, run.RequestedAt = dr == 1, time.Unix(0, req).UTC()
	if dec != 0 {
		t := time.Unix(0, dec).UTC()
		run.DecidedAt = &t
	}
	if fin != 0 {
		t := time.Unix(0, fin).UTC()
		run.FinishedAt = &t
	}
	_ = json.Unmarshal([]byte(hb), &run.Headers)
	return run, nil
}

// Get returns one run (headers holding credentials shown redacted).
func (r *Runner) Get(ctx context.Context, id int64) (Run, error) {
	run, err := scanRun(r.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM response_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return run, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return run, err
}

// Runs lists runs, newest first.
func (r *Runner) Runs(ctx context.Context, alertID int64, status string, limit int) ([]Run, error) {
	q := `SELECT ` + runColumns + ` FROM response_runs`
	var where []string
	var args []any
	if alertID != 0 {
		where, args = append(where, "alert_id = ?"), append(args, alertID)
	}
	if status != "" {
		where, args = append(where, "status = ?"), append(args, status)
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit)
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		run, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, run)
	}
	return out, rows.Err()
}

// OnChange requests the automatic actions attached to the rules of new
// alerts (alerts.Store.OnChange). They run at once unless they need
// approval, in which case they wait for it like any other. The requests
// go out on their own goroutine: detection never waits for them.
func (r *Runner) OnChange(ctx context.Context, cs []alerts.Change) {
	type job struct {
		id   int64
		name string
	}
	var jobs []job
	for _, c := range cs {
		if c.What != "new" {
			continue
		}
		for _, x := range r.actions {
			if x.Auto && x.attached(c.Alert.RuleID) {
				jobs = append(jobs, job{c.Alert.ID, x.Name})
			}
		}
	}
	if len(jobs) == 0 {
		return
	}
	go func() {
		for _, j := range jobs {
			if _, err := r.Request(context.WithoutCancel(ctx), j.id, j.name, false, "system:auto"); err != nil {
				r.opt.Log.Warn("automatic response action not started", "action", j.name, "alert", j.id, "err", err)
			}
		}
	}()
}
