/** A small inline line chart (SVG) for tables: the shape of a series, no axes. */
export interface SparklineProps {
  readonly values: readonly (number | null)[];
  readonly color: string;
  readonly width?: number;
  readonly height?: number;
  /** The accessible name, e.g. "requests per minute". */
  readonly title: string;
}

export function Sparkline(props: SparklineProps) {
  const { values, color, width = 120, height = 28, title } = props;
  let max = 0;
  for (const v of values) if (v !== null && v > max) max = v;
  const n = values.length;
  const step = n > 1 ? width / (n - 1) : 0;
  const y = (v: number) => height - 2 - (max > 0 ? (v / max) * (height - 4) : 0);
  // Gaps (null) break the line into runs.
  const runs: string[] = [];
  let run = '';
  values.forEach((v, i) => {
    if (v === null) {
      if (run !== '') runs.push(run);
      run = '';
      return;
    }
    run += `${run === '' ? 'M' : 'L'}${(i * step).toFixed(1)},${y(v).toFixed(1)}`;
  });
  if (run !== '') runs.push(run);
  return (
    <svg className="tl-sparkline" width={width} height={height} role="img" aria-label={title}>
      <title>{title}</title>
      {runs.map((d) => (
        <path key={d} d={d} fill="none" stroke={color} strokeWidth={1.5} strokeLinejoin="round" />
      ))}
    </svg>
  );
}
