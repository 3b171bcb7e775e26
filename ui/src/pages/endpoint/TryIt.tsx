import { useEffect, useState } from "react";
import { api, buildUrl, send, type Schemas, type Sent } from "../../api/client";
import { OPERATIONS } from "../../api/operations";
import { ErrorNote } from "../../components/common";
import type { Project } from "../../lib/access";
import { checkTryBody, curlSnippet, defaultTryBody, pythonSnippet } from "../../lib/endpoints";

/** A JSON body sent through the try route, the answer with its status and latency, and the
 * same call as curl and Python for a client with the endpoint's key. */
export function TryIt(props: { project: Project; endpoint: Schemas["EndpointDetail"]; acceptFiles: boolean }) {
  const { project, endpoint, acceptFiles } = props;
  const [text, setText] = useState<string | null>(null);
  const [answer, setAnswer] = useState<Sent>();
  const [problem, setProblem] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    // start from the newest logged request, once
    let live = true;
    api("list_endpoint_requests", {
      path: { project_id: project.id, ref: endpoint.id },
      query: { limit: 1 },
    }).then(
      (page) => live && setText((t) => t ?? defaultTryBody(page.items[0]?.input, acceptFiles)),
      () => live && setText((t) => t ?? defaultTryBody(undefined, acceptFiles)),
    );
    return () => {
      live = false;
    };
  }, [project.id, endpoint.id, acceptFiles]);

  const body = text ?? "";
  const submit = async () => {
    const checked = checkTryBody(body);
    setProblem(checked.ok ? undefined : checked.error);
    setError(undefined);
    if (!checked.ok) return;
    setBusy(true);
    try {
      // the try route: the caller's own login, no endpoint key; any status is shown
      const url = buildUrl(OPERATIONS.try_endpoint[1], { project_id: project.id, ref: endpoint.id });
      setAnswer(await send(url, checked.body));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="try-it grid2">
      <form
        aria-label="Try it"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          Request body (JSON)
          <textarea
            className="code"
            rows={8}
            spellCheck={false}
            value={body}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void submit();
            }}
          />
        </label>
        <button type="submit" disabled={busy || text === null}>
          {busy ? "Sending…" : "Send"}
        </button>{" "}
        <span className="muted">Ctrl+Enter sends; it goes through the gateway as a keyed call would.</span>
        {problem ? (
          <div role="alert" className="error">
            {problem}
          </div>
        ) : null}
        <ErrorNote error={error} />
        {answer ? <Answer answer={answer} /> : null}
      </form>
      <Snippets url={endpoint.url} body={body} />
    </div>
  );
}

function Answer({ answer }: { answer: Sent }) {
  let shown = answer.text;
  try {
    shown = JSON.stringify(JSON.parse(answer.text), null, 2);
  } catch {
    // not JSON: show it as it came
  }
  const ok = answer.status >= 200 && answer.status < 300;
  return (
    <div className="try-answer" aria-label="Answer">
      <p>
        <span className={`badge ${ok ? "state-succeeded" : "state-failed"}`} data-testid="try-status">
          {answer.status}
        </span>{" "}
        <span data-testid="try-latency">{answer.ms.toFixed(1)} ms</span>
        {answer.requestId ? <span className="muted"> · request {answer.requestId}</span> : null}
      </p>
      <pre className="code" data-testid="try-answer">
        {shown}
      </pre>
    </div>
  );
}

function Snippets({ url, body }: { url: string; body: string }) {
  const [lang, setLang] = useState<"curl" | "python">("curl");
  const compact = checkTryBody(body);
  const payload = compact.ok ? compact.body : body;
  return (
    <div className="snippets">
      <div role="tablist" aria-label="Snippet" className="tabs">
        {(["curl", "python"] as const).map((l) => (
          <button
            key={l}
            type="button"
            role="tab"
            aria-selected={lang === l}
            className={lang === l ? "active" : ""}
            onClick={() => setLang(l)}
          >
            {l === "curl" ? "curl" : "Python"}
          </button>
        ))}
      </div>
      <pre className="code" data-testid="snippet">
        {lang === "curl" ? curlSnippet(url, payload) : pythonSnippet(url, payload)}
      </pre>
      <p className="muted">
        Set <code>HEADWATER_ENDPOINT_KEY</code> to the endpoint&apos;s key (or send it as <code>Cnvrg-Api-Key</code>).
      </p>
    </div>
  );
}
