import { useCallback, useEffect, useRef, useState } from "react";

export interface Data<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Load `fetcher` when `deps` change; with `pollMs`, again every `pollMs` while `poll` is true
 * (polling pauses while the tab is hidden). `poll` may be a function of the latest answer
 * (poll while a job runs), which spares the caller a state mirrored by an effect. A late answer
 * for old `deps` is dropped.
 */
export function useData<T>(
  fetcher: () => Promise<T>,
  deps: unknown[],
  options: { pollMs?: number; poll?: boolean | ((data: T | undefined) => boolean) } = {},
): Data<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    const mine = ++generation.current;
    // eslint-disable-next-line react-hooks/set-state-in-effect -- a (re)load starts: shown at once
    setLoading(true);
    fetcher().then(
      (value) => {
        if (generation.current !== mine) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: unknown) => {
        if (generation.current !== mine) return;
        setError(err instanceof Error ? err : new Error(String(err)));
        setLoading(false);
      },
    );
    // the caller's `deps` say when `fetcher` changes (it is a new closure every render)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);

  const { pollMs } = options;
  const poll = typeof options.poll === "function" ? options.poll(data) : (options.poll ?? true);
  useEffect(() => {
    if (!pollMs || !poll) return;
    const id = window.setInterval(() => {
      if (!document.hidden) reload();
    }, pollMs);
    return () => window.clearInterval(id);
  }, [pollMs, poll, reload]);

  return { data, error, loading, reload };
}
