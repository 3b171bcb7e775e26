import { useCallback, useEffect, useRef, useState } from "react";

export interface Data<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Load `fetcher` when `deps` change; with `pollMs`, again every `pollMs` while `poll` is true
 * (polling pauses while the tab is hidden). A late answer for old `deps` is dropped.
 */
export function useData<T>(
  fetcher: () => Promise<T>,
  deps: unknown[],
  options: { pollMs?: number; poll?: boolean } = {},
): Data<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    const mine = ++generation.current;
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
  }, [...deps, tick]);

  const { pollMs, poll = true } = options;
  useEffect(() => {
    if (!pollMs || !poll) return;
    const id = window.setInterval(() => {
      if (!document.hidden) reload();
    }, pollMs);
    return () => window.clearInterval(id);
  }, [pollMs, poll, reload]);

  return { data, error, loading, reload };
}
