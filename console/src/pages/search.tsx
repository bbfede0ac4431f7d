import { useState } from "preact/hooks";
import { apiNDJSON } from "../lib/api";
import { navigate, useLocation, withQuery } from "../lib/router";
import { useFetch } from "../lib/hooks";
import { fmtEventTime } from "../lib/time";
import { ErrorBox, Loading, PageHeader } from "../components/status";

export default function Search() {
  const loc = useLocation();
  const q = loc.query.get("q") ?? "*";
  const start = loc.query.get("start") ?? "-1h";
  const [text, setText] = useState(q);
  const f = useFetch(async (signal) => {
    const rows: Record<string, string>[] = [];
    await apiNDJSON("/api/v1/search", { signal, query: { q, start, end: "now", limit: 1000 } }, (r) => rows.push(r));
    return rows;
  }, [q, start]);
  return (
    <>
      <PageHeader title="Search" />
      <form
        class="search-bar"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(withQuery("/search", { q: text, start }));
        }}
      >
        <label class="grow">
          <span class="sr-only">LogsQL query</span>
          <input value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>
        <button class="btn primary" type="submit">
          Search
        </button>
      </form>
      <ErrorBox error={f.error} onRetry={f.reload} />
      {f.loading && <Loading label="Searching…" />}
      {f.data && (
        <table class="grid">
          <thead>
            <tr>
              <th>Time</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {f.data.map((r, i) => (
              <tr key={i}>
                <td>{fmtEventTime(r["_time"])}</td>
                <td>{r["_msg"]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
