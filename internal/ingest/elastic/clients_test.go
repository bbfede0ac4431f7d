package elastic

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	es8 "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/opensearchutil"

	"github.com/vigil-siem/vigil/internal/bus"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/normalize"
)

// doc is the n-th test document: a nested ECS document with a time.
func doc(n int) string {
	return fmt.Sprintf(`{"@timestamp":"2026-11-28T10:00:%02d.5Z","message":"login %d","host":{"name":"ehr-%d"},"user":{"name":"u%d"},"tags":["a","b"],"event":{"code":4624}}`, n%60, n, n%3, n)
}

func checkDocs(t *testing.T, evs []event.Event, index string, n int, dataset string) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range evs {
		m := e.Value("message")
		var i int
		if _, err := fmt.Sscanf(m, "login %d", &i); err != nil {
			t.Fatalf("unexpected event %v", e.Fields)
		}
		if seen[m] {
			t.Fatalf("event %q stored twice", m)
		}
		seen[m] = true
		want := map[string]string{
			"host.name": fmt.Sprintf("ehr-%d", i%3), "user.name": fmt.Sprintf("u%d", i), "tags": `["a","b"]`,
			"event.code": "4624", "event.dataset": dataset,
		}
		for k, v := range want {
			if got := e.Value(k); got != v {
				t.Errorf("event %d %s = %q, want %q", i, k, got, v)
			}
		}
		if wt := time.Date(2026, 11, 28, 10, 0, i%60, 5e8, time.UTC); !e.Time.Equal(wt) {
			t.Errorf("event %d time %v, want %v", i, e.Time, wt)
		}
		if e.Has("@timestamp") {
			t.Errorf("event %d keeps @timestamp as a field", i)
		}
	}
	if len(seen) != n {
		t.Fatalf("%d distinct events, want %d", len(seen), n)
	}
}

// TestGoElasticsearchBulkIndexer sends with the official Go client's
// BulkIndexer (which checks X-Elastic-Product) and its Info call.
func TestGoElasticsearchBulkIndexer(t *testing.T) {
	e := setup(t, bus.Config{})
	client, err := es8.NewClient(es8.Config{Addresses: []string{e.srv.URL}, Username: "elastic", Password: testToken})
	if err != nil {
		t.Fatal(err)
	}
	info, err := client.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.IsError() || !strings.Contains(info.String(), `"number":"8.`) {
		t.Fatalf("Info: %s", info)
	}
	info.Body.Close()

	const n = 500
	var failed atomic.Int64
	var failReasons sync.Map
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client: client, Index: "logs-ehr.audit-default", NumWorkers: 2, FlushBytes: 16 << 10, FlushInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	add := func(action, body string, onFail func(esutil.BulkIndexerResponseItem)) {
		err := bi.Add(ctx, esutil.BulkIndexerItem{
			Action: action, Body: strings.NewReader(body),
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				failed.Add(1)
				if err != nil {
					t.Errorf("transport error: %v", err)
				}
				onFail(res)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		action := "index"
		if i%2 == 1 {
			action = "create"
		}
		add(action, doc(i), func(res esutil.BulkIndexerResponseItem) { t.Errorf("document refused: %+v", res) })
	}
	// One broken document and one delete are refused per item.
	add("index", `{"message": "broken`, func(res esutil.BulkIndexerResponseItem) {
		failReasons.Store("broken", res.Status == 400 && res.Error.Type == "document_parsing_exception")
	})
	err = bi.Add(ctx, esutil.BulkIndexerItem{Action: "delete", DocumentID: "x",
		OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, _ error) {
			failed.Add(1)
			failReasons.Store("delete", res.Status == 400 && res.Error.Type == "illegal_argument_exception")
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := bi.Close(ctx); err != nil {
		t.Fatal(err)
	}
	st := bi.Stats()
	if st.NumFlushed != n || st.NumFailed != 2 || failed.Load() != 2 {
		t.Fatalf("stats %+v, failures %d", st, failed.Load())
	}
	for _, k := range []string{"broken", "delete"} {
		if ok, _ := failReasons.Load(k); ok != true {
			t.Errorf("%s item not refused with the expected status and type", k)
		}
	}
	evs := e.events(t, n)
	checkDocs(t, evs, "logs-ehr.audit-default", n, "ehr.audit")
	for _, ev := range evs {
		if ev.Value("data_stream.type") != "logs" || ev.Value("data_stream.namespace") != "default" {
			t.Fatalf("data_stream fields missing: %v", ev.Fields)
		}
	}
}

// TestGoElasticsearchAPIKey authenticates the official client with an API
// key made of an id and the Vigil token.
func TestGoElasticsearchAPIKey(t *testing.T) {
	e := setup(t, bus.Config{})
	key := base64.StdEncoding.EncodeToString([]byte("vigil:" + testToken))
	client, err := es8.NewClient(es8.Config{Addresses: []string{e.srv.URL}, APIKey: key})
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Index("winlogbeat-8.19.0", strings.NewReader(doc(7)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("index: %s", res)
	}
	checkDocs(t, e.events(t, 1), "winlogbeat-8.19.0", 1, "winlogbeat")

	bad, err := es8.NewClient(es8.Config{Addresses: []string{e.srv.URL}, APIKey: base64.StdEncoding.EncodeToString([]byte("vigil:wrong"))})
	if err != nil {
		t.Fatal(err)
	}
	res, err = bad.Info()
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("wrong API key: %d", res.StatusCode)
	}
}

// TestOpenSearchBulkIndexer sends with opensearch-go's BulkIndexer.
func TestOpenSearchBulkIndexer(t *testing.T) {
	e := setup(t, bus.Config{})
	client, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{
		Addresses: []string{e.srv.URL}, Username: "admin", Password: testToken,
	}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	var failed atomic.Int64
	bi, err := opensearchutil.NewBulkIndexer(opensearchutil.BulkIndexerConfig{
		Client: client, Index: "app-logs-2026.11.28", NumWorkers: 2, FlushBytes: 8 << 10, FlushInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		err := bi.Add(ctx, opensearchutil.BulkIndexerItem{
			Action: "index", Body: strings.NewReader(doc(i)),
			OnFailure: func(_ context.Context, _ opensearchutil.BulkIndexerItem, res opensearchapi.BulkRespItem, err error) {
				failed.Add(1)
				t.Errorf("refused: %+v %v", res, err)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := bi.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := bi.Stats(); st.NumFlushed != n || st.NumFailed != 0 {
		t.Fatalf("stats %+v", st)
	}
	checkDocs(t, e.events(t, n), "app-logs-2026.11.28", n, "app-logs")
}

// TestWinlogbeatDocumentsNormalised sends Winlogbeat 8 and 7 documents
// (the Windows normaliser's test forms) through the official client with
// the server's JSON normalisation as the hook: they arrive in the
// Winlogbeat layout Sigma rules read.
func TestWinlogbeatDocumentsNormalised(t *testing.T) {
	dir := filepath.Join("..", "..", "normalize", "windows", "testdata", "forms", "security_4624")
	var docs []string
	for _, f := range []string{"winlogbeat.json", "winlogbeat7.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("Windows normaliser test forms: %v", err)
		}
		docs = append(docs, string(bytes.TrimSpace(b)))
	}
	e := setup(t, bus.Config{})
	e.h.Normalize = func(ev *event.Event) { normalize.JSONEvent(ev, nil) }
	client, err := es8.NewClient(es8.Config{Addresses: []string{e.srv.URL}, Username: "winlogbeat", Password: testToken})
	if err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	for _, d := range docs {
		body.WriteString(`{"create":{"_index":"winlogbeat-8.15.0"}}` + "\n" + d + "\n")
	}
	res, err := client.Bulk(strings.NewReader(body.String()))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.IsError() || strings.Contains(res.String(), `"errors":true`) {
		t.Fatalf("bulk: %s", res)
	}
	for i, ev := range e.events(t, 2) {
		for k, v := range map[string]string{
			"winlog.event_id": "4624", "event.code": "4624", "winlog.channel": "Security",
			"winlog.event_data.TargetUserName": "dr.house", "host.name": "EHR-APP-01.clinic.local", "event.dataset": "winlogbeat",
		} {
			if got := ev.Value(k); got != v {
				t.Errorf("document %d: %s = %q, want %q", i, k, got, v)
			}
		}
		if ev.Has(event.FieldParseError) {
			t.Errorf("document %d: %s", i, ev.Value(event.FieldParseError))
		}
	}
}
