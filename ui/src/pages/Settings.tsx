import { useState, type FormEvent } from "react";
import { api, type Schemas } from "../api/client";
import { Tabs } from "../components/Tabs";
import { ErrorNote, KeyValues, Loading } from "../components/common";
import { canManageMembers, isOwner, type Project } from "../lib/access";
import { formatTime } from "../lib/format";
import { navigate } from "../lib/router";
import { useData } from "../lib/useData";

const RESOURCES = ["files", "jobs", "datasets", "models"] as const;
type Level = "read" | "all";

/** Settings tabs; Secrets, Webhooks and Slack are the owner's, so members do not see them. */
export function Settings({ project, tab }: { project: Project; tab: string }) {
  const owner = isOwner(project);
  const tabs = [
    { id: "general", label: "General" },
    { id: "collaborators", label: "Collaborators" },
    { id: "environment", label: "Environment" },
    ...(owner
      ? [
          { id: "secrets", label: "Secrets" },
          { id: "webhooks", label: "Webhooks and Slack" },
        ]
      : []),
    { id: "git", label: "Git" },
  ];
  const active = tabs.some((t) => t.id === tab) ? tab : "general";
  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <Tabs
        label="Settings"
        tabs={tabs}
        active={active}
        onSelect={(id) => navigate(`/projects/${project.id}/settings/${id}`, { replace: true })}
      />
      <div role="tabpanel" id={`panel-${active}`} aria-labelledby={`tab-${active}`} className="panel">
        {active === "general" ? <General project={project} /> : null}
        {active === "collaborators" ? <Collaborators project={project} /> : null}
        {active === "environment" ? <Environment project={project} /> : null}
        {active === "secrets" && owner ? <Secrets project={project} /> : null}
        {active === "webhooks" && owner ? (
          <>
            <Webhooks project={project} />
            <Slack project={project} />
          </>
        ) : null}
        {active === "git" ? <Git project={project} /> : null}
      </div>
    </section>
  );
}

function useAction(after: () => void) {
  const [error, setError] = useState<unknown>();
  const run = async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
      after();
    } catch (err) {
      setError(err);
    }
  };
  return { error, run };
}

function General({ project }: { project: Project }) {
  const settings = useData(() => api("get_settings", { path: { project_id: project.id } }), [project.id]);
  const [description, setDescription] = useState(project.description);
  const [isPublic, setPublic] = useState(project.public);
  const [saved, setSaved] = useState(false);
  const action = useAction(() => setSaved(true));
  const owner = isOwner(project) && !project.personal;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    void action.run(() =>
      api("update_project", { path: { project_id: project.id }, body: { description, public: isPublic } }),
    );
  };
  const s = settings.data;
  return (
    <>
      <h3>Project</h3>
      <KeyValues
        empty=""
        values={{ name: project.name, owner: project.owner, "your role": project.role, created: formatTime(project.created_at) }}
      />
      {owner ? (
        <form onSubmit={submit} aria-label="General settings">
          <label>
            Description
            <input value={description} onChange={(e) => setDescription(e.target.value)} />
          </label>
          <label className="check">
            <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} />
            Public (every user may read it)
          </label>
          <ErrorNote error={action.error} />
          <button type="submit">Save</button> {saved ? <span role="status">Saved.</span> : null}
        </form>
      ) : null}
      <h3>Job defaults</h3>
      <ErrorNote error={settings.error} />
      {s ? (
        <KeyValues
          empty=""
          values={{
            "output folder": s.output_dir ?? "output",
            "compute templates": (s.compute ?? []).join(", ") || "—",
            "working directory": s.working_dir || "—",
            "autosync every (minutes)": s.autosync ? (s.sync_minutes ?? "") : "off",
            "restart when idle": s.restart_when_idle ? `after ${s.idle_minutes} minutes` : "off",
          }}
        />
      ) : (
        <Loading what="settings" />
      )}
    </>
  );
}

function AccessSelect(props: { label: string; value: Level; onChange: (v: Level) => void; disabled?: boolean }) {
  return (
    <label className="inline">
      <span className="sr-only">{props.label}</span>
      <select value={props.value} disabled={props.disabled} onChange={(e) => props.onChange(e.target.value as Level)}>
        <option value="read">read</option>
        <option value="all">all</option>
      </select>
    </label>
  );
}

function Collaborators({ project }: { project: Project }) {
  const pid = project.id;
  const members = useData(() => api("list_members", { path: { project_id: pid } }), [pid]);
  const action = useAction(members.reload);
  const manage = canManageMembers(project);
  const [email, setEmail] = useState("");
  const [grant, setGrant] = useState<Record<(typeof RESOURCES)[number], Level>>({
    files: "read",
    jobs: "read",
    datasets: "read",
    models: "read",
  });
  const add = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      await api("add_member", { path: { project_id: pid }, body: { email, ...grant } });
      setEmail("");
    });
  };
  return (
    <>
      <h3>Collaborators</h3>
      <p className="muted">Owner: {project.owner}. Members get read or all access per resource.</p>
      <ErrorNote error={members.error ?? action.error} />
      {members.data ? (
        <table className="list" aria-label="Collaborators">
          <thead>
            <tr>
              <th scope="col">Member</th>
              {RESOURCES.map((r) => (
                <th scope="col" key={r}>
                  {r}
                </th>
              ))}
              <th scope="col">Manages members</th>
              {manage ? <th scope="col"><span className="sr-only">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => (
              <tr key={m.user_id}>
                <th scope="row">
                  {m.username} <span className="muted small">{m.email}</span>
                </th>
                {RESOURCES.map((r) => (
                  <td key={r}>
                    {manage ? (
                      <AccessSelect
                        label={`${r} access of ${m.username}`}
                        value={m.access[r] as Level}
                        onChange={(v) =>
                          void action.run(() =>
                            api("update_member", { path: { project_id: pid, member: m.email }, body: { [r]: v } }),
                          )
                        }
                      />
                    ) : (
                      m.access[r]
                    )}
                  </td>
                ))}
                <td>{m.access.manage ? "yes" : "no"}</td>
                {manage ? (
                  <td>
                    <button
                      type="button"
                      onClick={() =>
                        void action.run(() => api("remove_member", { path: { project_id: pid, member: m.email } }))
                      }
                    >
                      Remove<span className="sr-only"> {m.username}</span>
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <Loading what="members" />
      )}
      {manage && !project.personal ? (
        <form onSubmit={add} aria-label="Add a collaborator" className="row">
          <label>
            Email
            <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
          {RESOURCES.map((r) => (
            <label key={r}>
              {r}
              <select value={grant[r]} onChange={(e) => setGrant({ ...grant, [r]: e.target.value as Level })}>
                <option value="read">read</option>
                <option value="all">all</option>
              </select>
            </label>
          ))}
          <button type="submit">Add collaborator</button>
        </form>
      ) : null}
    </>
  );
}

function Environment({ project }: { project: Project }) {
  const pid = project.id;
  const env = useData(() => api("list_env", { path: { project_id: pid } }), [pid]);
  const action = useAction(env.reload);
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const owner = isOwner(project);
  const add = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      await api("set_env", { path: { project_id: pid }, body: { env: { [key]: value } } });
      setKey("");
      setValue("");
    });
  };
  return (
    <>
      <h3>Environment variables</h3>
      <ErrorNote error={env.error ?? action.error} />
      {env.data ? (
        Object.keys(env.data).length ? (
          <table className="list" aria-label="Environment variables">
            <tbody>
              {Object.entries(env.data)
                .sort()
                .map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">
                      <code>{k}</code>
                    </th>
                    <td>
                      <code>{v}</code>
                    </td>
                    {owner ? (
                      <td>
                        <button type="button" onClick={() => void action.run(() => api("unset_env", { path: { project_id: pid, key: k } }))}>
                          Unset<span className="sr-only"> {k}</span>
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No variables.</p>
        )
      ) : (
        <Loading what="variables" />
      )}
      {owner ? (
        <form onSubmit={add} aria-label="Set a variable" className="row">
          <label>
            Name
            <input required pattern="[A-Za-z_][A-Za-z0-9_]*" value={key} onChange={(e) => setKey(e.target.value)} />
          </label>
          <label>
            Value
            <input value={value} onChange={(e) => setValue(e.target.value)} />
          </label>
          <button type="submit">Set variable</button>
        </form>
      ) : null}
    </>
  );
}

function Secrets({ project }: { project: Project }) {
  const pid = project.id;
  const secrets = useData(() => api("list_secrets", { path: { project_id: pid } }), [pid]);
  const action = useAction(secrets.reload);
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const add = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      await api("set_secret", { path: { project_id: pid, key }, body: { value } });
      setKey("");
      setValue("");
    });
  };
  return (
    <>
      <h3>Secrets</h3>
      <p className="muted">Values are never shown after they are set; tasks see them as environment variables.</p>
      <ErrorNote error={secrets.error ?? action.error} />
      {secrets.data ? (
        secrets.data.length ? (
          <table className="list" aria-label="Secrets">
            <tbody>
              {secrets.data.map((s) => (
                <tr key={s.key}>
                  <th scope="row">
                    <code>{s.key}</code>
                  </th>
                  <td className="muted">updated {formatTime(s.updated_at)}</td>
                  <td>
                    <button type="button" onClick={() => void action.run(() => api("delete_secret", { path: { project_id: pid, key: s.key } }))}>
                      Delete<span className="sr-only"> {s.key}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No secrets.</p>
        )
      ) : (
        <Loading what="secrets" />
      )}
      <form onSubmit={add} aria-label="Set a secret" className="row">
        <label>
          Key
          <input required value={key} onChange={(e) => setKey(e.target.value)} />
        </label>
        <label>
          Value
          <input type="password" autoComplete="off" required value={value} onChange={(e) => setValue(e.target.value)} />
        </label>
        <button type="submit">Set secret</button>
      </form>
    </>
  );
}

function Webhooks({ project }: { project: Project }) {
  const pid = project.id;
  const hooks = useData(() => api("list_webhooks", { path: { project_id: pid } }), [pid]);
  const action = useAction(hooks.reload);
  const [url, setUrl] = useState("");
  const [created, setCreated] = useState<Schemas["WebhookCreated"]>();
  const add = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      setCreated(await api("create_webhook", { path: { project_id: pid }, body: { url } }));
      setUrl("");
    });
  };
  return (
    <>
      <h3>Webhooks</h3>
      <ErrorNote error={hooks.error ?? action.error} />
      {created ? (
        <p role="status" className="notice">
          Signing secret for {created.url} (shown once): <code>{created.signing_secret}</code>
        </p>
      ) : null}
      {hooks.data ? (
        hooks.data.length ? (
          <table className="list" aria-label="Webhooks">
            <tbody>
              {hooks.data.map((h) => (
                <tr key={h.id}>
                  <th scope="row">{h.url}</th>
                  <td className="small">{h.events.join(", ")}</td>
                  <td>
                    <button type="button" onClick={() => void action.run(() => api("delete_webhook", { path: { project_id: pid, webhook_id: h.id } }))}>
                      Delete<span className="sr-only"> {h.url}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">No webhooks.</p>
        )
      ) : (
        <Loading what="webhooks" />
      )}
      <form onSubmit={add} aria-label="Add a webhook" className="row">
        <label>
          URL
          <input type="url" required value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…" />
        </label>
        <button type="submit">Add webhook</button>
      </form>
    </>
  );
}

type ProjectSettings = Schemas["ProjectSettings"];

/** The settings once loaded, and a save of some of them that reloads them after. */
function useSettings(pid: string) {
  const settings = useData(() => api("get_settings", { path: { project_id: pid } }), [pid]);
  const [saved, setSaved] = useState(false);
  const action = useAction(() => {
    setSaved(true);
    settings.reload();
  });
  const save = (body: Partial<ProjectSettings>) => {
    setSaved(false);
    void action.run(() => api("update_settings", { path: { project_id: pid }, body }));
  };
  return { settings, save, saved, error: action.error };
}

function Slack({ project }: { project: Project }) {
  const { settings, save, saved, error } = useSettings(project.id);
  if (settings.error) return <ErrorNote error={settings.error} />;
  if (!settings.data) return <Loading what="the Slack settings" />;
  const slack = settings.data.slack ?? { channel: "", webhook_url: "" };
  return (
    <SlackForm
      key={`${slack.channel}|${slack.webhook_url}`}
      initial={slack}
      onSave={(next) => save({ slack: next })}
      saved={saved}
      error={error}
    />
  );
}

function SlackForm(props: {
  initial: { channel?: string; webhook_url?: string };
  onSave: (slack: { channel: string; webhook_url: string }) => void;
  saved: boolean;
  error: unknown;
}) {
  const [channel, setChannel] = useState(props.initial.channel ?? "");
  const [url, setUrl] = useState(props.initial.webhook_url ?? "");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSave({ channel, webhook_url: url });
  };
  return (
    <>
      <h3>Slack</h3>
      <p className="muted">
        Experiments and flows post how they ended to this channel through a Slack incoming webhook; leave the URL
        empty to turn it off.
      </p>
      <form onSubmit={submit} aria-label="Slack" className="row">
        <label>
          Channel
          <input value={channel} onChange={(e) => setChannel(e.target.value)} placeholder="#ml-runs" />
        </label>
        <label>
          Incoming webhook URL
          <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://hooks.slack.com/…" />
        </label>
        <button type="submit">Save Slack</button> {props.saved ? <span role="status">Saved.</span> : null}
      </form>
      <ErrorNote error={props.error} />
    </>
  );
}

/** The linked Git repository (seed 000, Git Integration): its members see it, its owner edits it and
 * sets the SSH key a private repository is read with. */
function Git({ project }: { project: Project }) {
  const owner = isOwner(project);
  const { settings, save, saved, error } = useSettings(project.id);
  if (settings.error) return <ErrorNote error={settings.error} />;
  if (!settings.data) return <Loading what="the Git settings" />;
  const git = settings.data.git ?? { repo: "", branch: "master", private: false };
  return (
    <>
      <h3>Git repository</h3>
      <p className="muted">
        When a repository is linked, jobs clone it (at its branch, or the branch or commit a job names) instead of
        the project's files; only the output folder is kept as the job's artifacts.
      </p>
      {owner ? (
        <GitForm key={JSON.stringify(git)} initial={git} onSave={(next) => save({ git: next })} saved={saved} error={error} />
      ) : (
        <KeyValues
          empty="—"
          values={{ repository: git.repo || "not linked", branch: git.branch ?? "master", private: git.private ? "yes" : "no" }}
        />
      )}
      {owner ? <GitKey project={project} /> : null}
    </>
  );
}

function GitForm(props: {
  initial: { repo?: string; branch?: string; private?: boolean };
  onSave: (git: { repo: string; branch: string; private: boolean }) => void;
  saved: boolean;
  error: unknown;
}) {
  const [repo, setRepo] = useState(props.initial.repo ?? "");
  const [branch, setBranch] = useState(props.initial.branch ?? "master");
  const [secret, setPrivate] = useState(props.initial.private ?? false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    props.onSave({ repo: repo.trim(), branch: branch.trim(), private: secret });
  };
  return (
    <form onSubmit={submit} aria-label="Git repository">
      <label>
        Repository
        <input value={repo} onChange={(e) => setRepo(e.target.value)} placeholder="git@github.com:org/repo.git" />
      </label>
      <label>
        Branch
        <input required value={branch} onChange={(e) => setBranch(e.target.value)} />
      </label>
      <label className="check">
        <input type="checkbox" checked={secret} onChange={(e) => setPrivate(e.target.checked)} />
        Private repository (read with the SSH key below; use the SSH form of the link)
      </label>
      <ErrorNote error={props.error} />
      <button type="submit">Save Git</button> {props.saved ? <span role="status">Saved.</span> : null}
    </form>
  );
}

function GitKey({ project }: { project: Project }) {
  const pid = project.id;
  const keys = useData(() => api("list_keys", { path: { project_id: pid } }), [pid]);
  const action = useAction(keys.reload);
  const [name, setName] = useState("deploy key");
  const [secret, setSecret] = useState("");
  const current = keys.data?.find((k) => k.type === "git");
  const add = (e: FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      await api("set_key", { path: { project_id: pid, key_type: "git" }, body: { key_id: name, secret } });
      setSecret("");
    });
  };
  return (
    <>
      <h3>SSH key</h3>
      <p className="muted">
        A private key without a passphrase, one per repository; give its public half to the repository as a deploy
        key. It is never shown again.
      </p>
      <ErrorNote error={keys.error ?? action.error} />
      {current ? (
        <p>
          Set: <strong>{current.key_id}</strong> <span className="muted">(updated {formatTime(current.updated_at)})</span>{" "}
          <button type="button" onClick={() => void action.run(() => api("delete_key", { path: { project_id: pid, key_type: "git" } }))}>
            Remove key
          </button>
        </p>
      ) : keys.data ? (
        <p className="muted">No key set.</p>
      ) : null}
      <form onSubmit={add} aria-label="Git SSH key">
        <label>
          Key name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Private key
          <textarea
            required
            rows={6}
            autoComplete="off"
            spellCheck={false}
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
            placeholder="-----BEGIN OPENSSH PRIVATE KEY-----"
          />
        </label>
        <button type="submit">Save key</button>
      </form>
    </>
  );
}
