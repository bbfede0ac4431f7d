package directory

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// WorkforceFields are the fields of a roster row, in display order.
var WorkforceFields = []string{
	"employee_id", "ehr_user_id", "provider_id", "full_name", "family_name", "given_name",
	"address", "city", "state", "postal_code", "country", "email", "phone",
	"department", "role", "manager_id", "hire_date", "termination_date",
}

// WorkforceMapping maps each workforce field to the CSV header(s) that may
// hold it; the first header present in the file is used. Headers are
// compared ignoring case, spaces and punctuation ("Employee ID" matches
// "employee_id").
type WorkforceMapping map[string][]string

// workforcePresets are the built-in mappings.
var workforcePresets = map[string]WorkforceMapping{
	// default recognises Vigil's own field names and the usual HR export
	// headers.
	"default": {
		"employee_id":      {"employee_id", "employee id", "employee number", "employee no", "emp id", "emp no", "empid", "worker id", "person number", "staff id", "badge id"},
		"ehr_user_id":      {"ehr_user_id", "ehr user id", "ehr user", "ehr login", "ehr username", "epic login", "epic user id", "epic id", "emr login", "emr user id", "login", "login id", "username", "user name", "user id", "userid"},
		"provider_id":      {"provider_id", "provider id", "provider number", "npi", "prov id"},
		"full_name":        {"full_name", "full name", "name", "display name", "employee name", "worker name"},
		"family_name":      {"family_name", "family name", "last name", "lastname", "surname"},
		"given_name":       {"given_name", "given name", "first name", "firstname", "forename"},
		"address":          {"address", "street", "street address", "address line 1", "address1", "home address"},
		"city":             {"city", "town"},
		"state":            {"state", "province", "region", "county"},
		"postal_code":      {"postal_code", "postal code", "zip", "zip code", "zipcode", "postcode"},
		"country":          {"country"},
		"email":            {"email", "e-mail", "email address", "work email"},
		"phone":            {"phone", "phone number", "telephone", "mobile", "home phone"},
		"department":       {"department", "dept", "department name", "unit", "cost center name", "organization"},
		"role":             {"role", "job title", "title", "position", "job", "job role"},
		"manager_id":       {"manager_id", "manager id", "manager employee id", "supervisor id", "manager", "supervisor", "reports to"},
		"hire_date":        {"hire_date", "hire date", "date hired", "start date", "hired", "original hire date"},
		"termination_date": {"termination_date", "termination date", "term date", "terminated", "end date", "separation date", "last day worked"},
	},
}

// WorkforcePresetNames lists the built-in mappings.
func WorkforcePresetNames() []string {
	var n []string
	for k := range workforcePresets {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

// WorkforcePreset returns a built-in mapping.
func WorkforcePreset(name string) (WorkforceMapping, error) {
	m, ok := workforcePresets[name]
	if !ok {
		return nil, fmt.Errorf("unknown workforce mapping preset %q: have %s", name, strings.Join(WorkforcePresetNames(), ", "))
	}
	return m, nil
}

// ParseWorkforceMapping reads a mapping written as JSON or YAML: an object
// whose keys are workforce fields and whose values are a CSV header or a
// list of headers, e.g. {"employee_id": "Emp No", "ehr_user_id": ["Epic
// Login", "Login"]}.
func ParseWorkforceMapping(data []byte) (WorkforceMapping, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("workforce mapping: %w", err)
	}
	m := WorkforceMapping{}
	for field, v := range raw {
		if !slices.Contains(WorkforceFields, field) {
			return nil, fmt.Errorf("workforce mapping: unknown field %q: keys are Vigil fields (%s), values the CSV headers holding them",
				field, strings.Join(WorkforceFields, ", "))
		}
		switch x := v.(type) {
		case string:
			m[field] = []string{x}
		case []any:
			for _, h := range x {
				s, ok := h.(string)
				if !ok {
					return nil, fmt.Errorf("workforce mapping: field %q: headers must be strings", field)
				}
				m[field] = append(m[field], s)
			}
		default:
			return nil, fmt.Errorf("workforce mapping: field %q: want a header name or a list of them", field)
		}
	}
	if len(m) == 0 {
		return nil, errors.New("workforce mapping is empty")
	}
	return m, nil
}

// ImportOptions configure ImportWorkforce.
type ImportOptions struct {
	// Mapping says which columns hold which fields (default: the
	// "default" preset). With an explicit mapping, every header it names
	// must be present.
	Mapping  WorkforceMapping
	Explicit bool
	// Delimiter of the CSV (0: detected from the header line among , ; tab |).
	Delimiter rune
	// DayFirst reads slash dates as day/month/year (default month/day/year).
	DayFirst bool
	// MaxRows bounds the roster (default 1,000,000).
	MaxRows int
	// MaxListed bounds the errors listed (default 1000; all are counted).
	MaxListed int
}

// LineError is a problem with one line of an import.
type LineError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// ImportResult summarises a workforce import.
type ImportResult struct {
	Rows       int               `json:"rows"`
	Created    int               `json:"created"`
	Updated    int               `json:"updated"`
	Unchanged  int               `json:"unchanged"`
	Errors     []LineError       `json:"errors"`
	ErrorTotal int               `json:"error_total"`
	Columns    map[string]string `json:"columns"` // field → header used
}

func normHeader(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimPrefix(s, "\ufeff")) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sniffDelimiter picks the delimiter that occurs most in the first line
// outside quotes.
func sniffDelimiter(line []byte) rune {
	counts := map[rune]int{}
	inQuote := false
	for _, c := range string(line) {
		switch {
		case c == '"':
			inQuote = !inQuote
		case !inQuote && (c == ',' || c == ';' || c == '\t' || c == '|'):
			counts[c]++
		}
	}
	best, n := ',', 0
	for _, c := range []rune{',', '\t', ';', '|'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return best
}

// resolveColumns maps each field to the index of its column.
func resolveColumns(header []string, m WorkforceMapping, explicit bool) (map[string]int, map[string]string, error) {
	byNorm := map[string]int{}
	for i, h := range header {
		if _, dup := byNorm[normHeader(h)]; !dup {
			byNorm[normHeader(h)] = i
		}
	}
	idx := map[string]int{}
	used := map[string]string{}
	for _, field := range WorkforceFields {
		cands := m[field]
		found := false
		for _, c := range cands {
			if i, ok := byNorm[normHeader(c)]; ok {
				idx[field], used[field] = i, header[i]
				found = true
				break
			}
		}
		if !found && len(cands) > 0 && (explicit || field == "employee_id") {
			return nil, nil, fmt.Errorf("line 1: no column for %s: looked for %s; the header has %s",
				field, quoteList(cands), quoteList(header))
		}
	}
	return idx, used, nil
}

func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", strings.TrimPrefix(s, "\ufeff"))
	}
	return strings.Join(q, ", ")
}

// ParseDate reads a date in the usual roster forms into YYYY-MM-DD.
// Slash dates are month/day/year unless dayFirst.
func ParseDate(s string, dayFirst bool) (string, error) {
	s = strings.TrimSpace(s)
	layouts := []string{"2006-01-02", "2006/01/02", "20060102", time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05",
		"2-Jan-2006", "02-Jan-2006", "Jan 2, 2006", "January 2, 2006", "2 Jan 2006", "02.01.2006", "2.1.2006"}
	if dayFirst {
		layouts = append(layouts, "2/1/2006", "02/01/2006", "2/1/06", "2/1/2006 15:04", "2/1/2006 15:04:05")
	} else {
		layouts = append(layouts, "1/2/2006", "01/02/2006", "1/2/06", "1/2/2006 15:04", "1/2/2006 15:04:05", "1/2/2006 3:04:05 PM")
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	return "", fmt.Errorf("cannot read date %q: use YYYY-MM-DD", s)
}

// ImportWorkforce reads a CSV roster with a header line and upserts every
// row by employee id, in one transaction. Rows with problems are skipped
// and listed with their line number; the rest are imported.
func (s *Store) ImportWorkforce(ctx context.Context, r io.Reader, opt ImportOptions) (*ImportResult, error) {
	workers, res, err := ParseRoster(r, opt)
	if err != nil {
		return nil, err
	}
	err = s.withTx(ctx, func(tx *sql.Tx) error {
		now := fmtTime(s.now())
		for _, w := range workers {
			r, err := upsertWorker(ctx, tx, &w, now)
			if err != nil {
				return err
			}
			switch r {
			case 'c':
				res.Created++
			case 'u':
				res.Updated++
			default:
				res.Unchanged++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// ParseRoster reads a CSV roster into workers, without storing them. Rows
// with problems are left out and listed in the result.
func ParseRoster(r io.Reader, opt ImportOptions) ([]Worker, *ImportResult, error) {
	if opt.Mapping == nil {
		opt.Mapping = workforcePresets["default"]
	}
	if opt.MaxRows <= 0 {
		opt.MaxRows = 1_000_000
	}
	if opt.MaxListed <= 0 {
		opt.MaxListed = 1000
	}
	br := bufio.NewReaderSize(r, 64<<10)
	if opt.Delimiter == 0 {
		first, _ := br.Peek(br.Size())
		if i := strings.IndexByte(string(first), '\n'); i >= 0 {
			first = first[:i]
		}
		opt.Delimiter = sniffDelimiter(first)
	}
	cr := csv.NewReader(br)
	cr.Comma = opt.Delimiter
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("line 1: empty roster: want a header line")
		}
		return nil, nil, fmt.Errorf("line 1: reading header: %w", err)
	}
	header = slices.Clone(header)
	idx, used, err := resolveColumns(header, opt.Mapping, opt.Explicit)
	if err != nil {
		return nil, nil, err
	}
	res := &ImportResult{Columns: used, Errors: []LineError{}}
	lineErr := func(line int, format string, args ...any) {
		res.ErrorTotal++
		if len(res.Errors) < opt.MaxListed {
			res.Errors = append(res.Errors, LineError{Line: line, Error: fmt.Sprintf(format, args...)})
		}
	}
	var workers []Worker
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				lineErr(pe.StartLine, "%v", pe.Err)
				continue
			}
			return nil, nil, fmt.Errorf("reading roster: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(workers)+res.ErrorTotal >= opt.MaxRows {
			return nil, nil, fmt.Errorf("line %d: roster has more than %d rows", line, opt.MaxRows)
		}
		get := func(field string) string {
			i, ok := idx[field]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		w := Worker{
			EmployeeID: get("employee_id"), EHRUserID: get("ehr_user_id"), ProviderID: get("provider_id"),
			FullName: get("full_name"), FamilyName: get("family_name"), GivenName: get("given_name"),
			Address: get("address"), City: get("city"), State: get("state"), PostalCode: get("postal_code"), Country: get("country"),
			Email: get("email"), Phone: get("phone"), Department: get("department"), Role: get("role"), ManagerID: get("manager_id"),
		}
		if w.EmployeeID == "" {
			lineErr(line, "%s (column %q) is empty", "employee_id", used["employee_id"])
			continue
		}
		if w.FullName == "" {
			w.FullName = strings.TrimSpace(w.GivenName + " " + w.FamilyName)
		}
		bad := false
		for _, d := range []struct {
			field string
			dst   *string
		}{{"hire_date", &w.HireDate}, {"termination_date", &w.TerminationDate}} {
			v := get(d.field)
			if v == "" {
				continue
			}
			if *d.dst, err = ParseDate(v, opt.DayFirst); err != nil {
				lineErr(line, "%s (column %q): %v", d.field, used[d.field], err)
				bad = true
			}
		}
		if bad {
			continue
		}
		workers = append(workers, w)
	}
	res.Rows = len(workers) + res.ErrorTotal
	return workers, res, nil
}

func workerSearch(w *Worker) string {
	return strings.ToLower(strings.Join([]string{w.FullName, w.FamilyName, w.GivenName, w.EmployeeID, w.EHRUserID, w.Email}, " "))
}

// upsertWorker stores w and says whether it was created ('c'), updated
// ('u') or already so ('=').
func upsertWorker(ctx context.Context, tx *sql.Tx, w *Worker, now string) (byte, error) {
	cur, err := scanWorker(tx.QueryRowContext(ctx, `SELECT `+workerCols+` FROM dir_workforce WHERE employee_id = ?`, w.EmployeeID))
	if errors.Is(err, sql.ErrNoRows) {
		_, err := tx.ExecContext(ctx, `INSERT INTO dir_workforce (employee_id, ehr_user_id, provider_id, full_name, family_name, given_name,
			address, city, state, postal_code, country, email, phone, department, role, manager_id, hire_date, termination_date, search,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.EmployeeID, w.EHRUserID, w.ProviderID, w.FullName, w.FamilyName, w.GivenName, w.Address, w.City, w.State, w.PostalCode,
			w.Country, w.Email, w.Phone, w.Department, w.Role, w.ManagerID, w.HireDate, w.TerminationDate, workerSearch(w), now, now)
		if err != nil {
			return 0, fmt.Errorf("directory: %w", err)
		}
		return 'c', nil
	}
	if err != nil {
		return 0, fmt.Errorf("directory: %w", err)
	}
	nw := *w
	nw.ID, nw.CreatedAt, nw.UpdatedAt = cur.ID, cur.CreatedAt, cur.UpdatedAt
	if nw == *cur {
		return '=', nil
	}
	_, err = tx.ExecContext(ctx, `UPDATE dir_workforce SET ehr_user_id = ?, provider_id = ?, full_name = ?, family_name = ?, given_name = ?,
		address = ?, city = ?, state = ?, postal_code = ?, country = ?, email = ?, phone = ?, department = ?, role = ?, manager_id = ?,
		hire_date = ?, termination_date = ?, search = ?, updated_at = ? WHERE id = ?`,
		w.EHRUserID, w.ProviderID, w.FullName, w.FamilyName, w.GivenName, w.Address, w.City, w.State, w.PostalCode, w.Country,
		w.Email, w.Phone, w.Department, w.Role, w.ManagerID, w.HireDate, w.TerminationDate, workerSearch(w), now, cur.ID)
	if err != nil {
		return 0, fmt.Errorf("directory: %w", err)
	}
	return 'u', nil
}

const workerCols = `id, employee_id, ehr_user_id, provider_id, full_name, family_name, given_name, address, city, state, postal_code,
	country, email, phone, department, role, manager_id, hire_date, termination_date, created_at, updated_at`

func scanWorker(row scanner) (*Worker, error) {
	var w Worker
	var created, updated string
	if err := row.Scan(&w.ID, &w.EmployeeID, &w.EHRUserID, &w.ProviderID, &w.FullName, &w.FamilyName, &w.GivenName, &w.Address,
		&w.City, &w.State, &w.PostalCode, &w.Country, &w.Email, &w.Phone, &w.Department, &w.Role, &w.ManagerID, &w.HireDate,
		&w.TerminationDate, &created, &updated); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = parseTime(created), parseTime(updated)
	return &w, nil
}

// Worker returns the worker with an employee id.
func (s *Store) Worker(ctx context.Context, employeeID string) (*Worker, error) {
	w, err := scanWorker(s.db.QueryRowContext(ctx, `SELECT `+workerCols+` FROM dir_workforce WHERE employee_id = ?`, employeeID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return w, nil
}

// WorkerByEHRUser returns the worker whose EHR user id is id (compared
// ignoring case, as EHR logins are). When a roster lists the login twice,
// the record updated last wins.
func (s *Store) WorkerByEHRUser(ctx context.Context, id string) (*Worker, error) {
	if id == "" {
		return nil, ErrNotFound
	}
	w, err := scanWorker(s.db.QueryRowContext(ctx, `SELECT `+workerCols+` FROM dir_workforce
		WHERE ehr_user_id = ? COLLATE NOCASE ORDER BY updated_at DESC, id DESC LIMIT 1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return w, nil
}

// WorkerQuery selects workers.
type WorkerQuery struct {
	Q          string // substring of names, employee id, EHR user id, email
	Department string // exact, case-insensitive
	Limit      int    // default 100, at most 1000
}

// Workers returns matching workers ordered by name.
func (s *Store) Workers(ctx context.Context, q WorkerQuery) ([]Worker, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var where []string
	var args []any
	if q.Q != "" {
		where = append(where, `search LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(strings.ToLower(q.Q))+"%")
	}
	if q.Department != "" {
		where = append(where, `department = ? COLLATE NOCASE`)
		args = append(args, q.Department)
	}
	query := `SELECT ` + workerCols + ` FROM dir_workforce`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY full_name, employee_id LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	defer rows.Close()
	out := []Worker{}
	for rows.Next() {
		w, err := scanWorker(rows)
		if err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		out = append(out, *w)
	}
	return out, rows.Err()
}
