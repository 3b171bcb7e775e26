// Listings name who created something by user id; the UI shows their usernames. Ids asked for
// in the same tick go to the server in one call per project (GET /projects/{id}/people); each
// answer is kept for the session.
import { api } from "../api/client";

const BATCH = 100; // the route's limit
const known = new Map<string, Promise<string | null>>(); // `${project} ${id}` -> username
const queued = new Map<string, Map<string, (name: string | null) => void>>(); // project -> id -> resolve

function flush(project: string): void {
  const waiting = queued.get(project);
  queued.delete(project);
  if (!waiting) return;
  const ids = [...waiting.keys()];
  for (let i = 0; i < ids.length; i += BATCH) {
    const chunk = ids.slice(i, i + BATCH);
    api("list_people", { path: { project_id: project }, query: { id: chunk } }).then(
      (people) => {
        const names = new Map(people.map((p) => [p.id, p.username]));
        for (const id of chunk) waiting.get(id)?.(names.get(id) ?? null);
      },
      () => {
        for (const id of chunk) {
          known.delete(`${project} ${id}`); // asked again next time
          waiting.get(id)?.(null);
        }
      },
    );
  }
}

/** The username behind `id` in `project`, or null when the server names none. */
export function nameOf(project: string, id: string): Promise<string | null> {
  const key = `${project} ${id}`;
  let found = known.get(key);
  if (!found) {
    found = new Promise((resolve) => {
      let waiting = queued.get(project);
      if (!waiting) {
        waiting = new Map();
        queued.set(project, waiting);
        setTimeout(() => flush(project), 0);
      }
      waiting.set(id, resolve);
    });
    known.set(key, found);
  }
  return found;
}
