package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	es8 "github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
)

// TestShipperEndpoints sends to a running vigil serve the way hospitals'
// shippers do — the official Elasticsearch Go client's BulkIndexer
// (Winlogbeat-shaped documents and a plain one), Splunk HEC, and the
// OpenTelemetry SDK's OTLP/HTTP exporter — and searches back what each
// sent, with its mapped fields; a silent source then raises its alert.
func TestShipperEndpoints(t *testing.T) {
	in := startVigil(t, t.TempDir(), "--sources-window", "1m", "--sources-grace", "1s")
	run := fmt.Sprintf("r%d", time.Now().UnixNano())
	now := time.Now().UTC()

	// Elasticsearch _bulk through the official client.
	client, err := es8.NewClient(es8.Config{Addresses: []string{in.httpURL}, Username: "winlogbeat", Password: in.token})
	if err != nil {
		t.Fatal(err)
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{Client: client, Index: "logs-windows.security-default", FlushInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var failures int
	add := func(body string) {
		err := bi.Add(context.Background(), esutil.BulkIndexerItem{Action: "create", Body: strings.NewReader(body),
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				failures++
				t.Errorf("bulk item refused: %+v %v", res, err)
			}})
		if err != nil {
			t.Fatal(err)
		}
	}
	ts := now.Add(-time.Minute).Format(time.RFC3339Nano)
	add(fmt.Sprintf(`{"@timestamp":%q,"host":{"name":"ws-ward7"},"winlog":{"channel":"Security","event_id":4625,"provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"ws-ward7","event_data":{"TargetUserName":"%s-win","IpAddress":"10.7.7.7","LogonType":"3"}},"event":{"code":"4625"},"message":"An account failed to log on."}`, ts, run))
	add(fmt.Sprintf(`{"@timestamp":%q,"message":"plain document %s","service":{"name":"pacs-gw"}}`, ts, run))
	if err := bi.Close(context.Background()); err != nil || failures > 0 {
		t.Fatalf("bulk indexer: %v, %d failures", err, failures)
	}

	// Splunk HEC.
	// Twelve events: a source is watched for silence once it has sent ten.
	var hecBody strings.Builder
	for i := range 12 {
		fmt.Fprintf(&hecBody, `{"time":%d,"host":"lab-01","sourcetype":"lab:audit","event":{"message":"result %d released %s","user":"tech1"}}`, now.Unix()-30, i, run)
	}
	req, _ := http.NewRequest(http.MethodPost, in.httpURL+"/services/collector/event", strings.NewReader(hecBody.String()))
	req.Header.Set("Authorization", "Splunk "+in.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	hb.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(hb.String(), `"code":0`) {
		t.Fatalf("HEC answered %d %s", resp.StatusCode, hb.String())
	}

	// OTLP/HTTP logs through the SDK exporter.
	exp, err := otlploghttp.New(context.Background(), otlploghttp.WithEndpointURL(in.httpURL+"/v1/logs"),
		otlploghttp.WithHeaders(map[string]string{"Authorization": "Bearer " + in.token}))
	if err != nil {
		t.Fatal(err)
	}
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(resource.NewSchemaless(attribute.String("service.name", "ehr-api"), attribute.String("host.name", "ehr-app-1"))),
		sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	var r otellog.Record
	r.SetTimestamp(now.Add(-20 * time.Second))
	r.SetSeverityText("WARN")
	r.SetBody(attribute.StringValue("chart opened " + run))
	lp.Logger("ehr/audit").Emit(context.Background(), r)
	if err := lp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	rows := in.waitFor(`"`+run+`" or winlog.event_data.TargetUserName:"`+run+`-win"`, 15, 30*time.Second)
	got := map[string]map[string]string{}
	for _, row := range rows {
		switch {
		case row["winlog.event_id"] == "4625":
			got["win"] = row
		case strings.HasPrefix(row["message"], "plain document"):
			got["plain"] = row
		case row["host.name"] == "lab-01":
			got["hec"] = row
		case row["service.name"] == "ehr-api":
			got["otlp"] = row
		}
	}
	check := func(which string, want map[string]string) {
		t.Helper()
		row := got[which]
		if row == nil {
			t.Errorf("%s: not found among %d rows", which, len(rows))
			return
		}
		for k, v := range want {
			if row[k] != v {
				t.Errorf("%s: %s = %q, want %q", which, k, row[k], v)
			}
		}
	}
	check("win", map[string]string{"winlog.channel": "Security", "event.code": "4625", "event.module": "windows",
		"event.outcome": "failure", "source.ip": "10.7.7.7", "data_stream.dataset": "windows.security"})
	check("plain", map[string]string{"data_stream.dataset": "windows.security", "service.name": "pacs-gw"})
	check("hec", map[string]string{"splunk.sourcetype": "lab:audit", "event.dataset": "lab:audit"})
	check("otlp", map[string]string{"host.name": "ehr-app-1", "log.level": "warn"})

	// The HEC source (lab-01) now goes silent for longer than its 1m window.
	as := in.waitAlerts(url.Values{"kind": {"source_silent"}}, 1, 150*time.Second)
	found := false
	for _, a := range as {
		found = found || a.Fields["host.name"] == "lab-01" || a.GroupBy["host.name"] == "lab-01" || strings.Contains(a.RuleTitle, "lab-01")
	}
	if !found {
		t.Fatalf("no silence alert for lab-01: %+v", as)
	}
	t.Logf("silence alert: %+v", as[0])
}
