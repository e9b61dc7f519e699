/**
 * A time-series chart on uPlot (canvas; tens of thousands of points stay
 * smooth). Colours come from the theme's CSS variables and follow a theme
 * switch; the width follows the container. A click on the plot reports the
 * time of the nearest point, so a page can open the traces of that minute.
 */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useSettings } from '../lib/settings.ts';

/** One line of a chart. `values[i]` belongs to `timestamps[i]`; null leaves a gap. */
export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
  /** Fill the area under the line (for a single series). */
  readonly fill?: boolean;
}

export interface TimeSeriesChartProps {
  /** Unix seconds, ascending. */
  readonly timestamps: readonly number[];
  readonly series: readonly ChartSeries[];
  readonly height?: number;
  /** Formats a y value for the axis and the legend. */
  readonly format: (v: number) => string;
  /** Shows the time axis in UTC instead of local time. */
  readonly utc: boolean;
  /** Called with the Unix second of the point under the cursor. */
  readonly onPick?: (unixSeconds: number) => void;
  /** The chart's accessible name, also used by tests. */
  readonly title: string;
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v === '' ? fallback : v;
}

export function TimeSeriesChart(props: TimeSeriesChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const pick = useRef(props.onPick);
  pick.current = props.onPick;
  const { timestamps, series, height = 180, format, utc, title } = props;
  // Colours are read from the theme's CSS variables when the chart is built: rebuild on a switch.
  const theme = useSettings().theme;

  // biome-ignore lint/correctness/useExhaustiveDependencies: `theme` is read through the CSS variables
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const text = cssVar('--text-muted', '#5f6b7c');
    const grid = cssVar('--grid', '#eceef2');
    const axis = (values: (u: uPlot, splits: number[]) => string[]): uPlot.Axis => ({
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      values,
      font: '11px system-ui, sans-serif',
    });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      tzDate: utc ? (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC') : (ts) => new Date(ts * 1000),
      legend: { show: series.length > 1 },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      series: [
        {},
        ...series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: 1.5,
            spanGaps: false,
            value: (_u, v) => (v === null ? '-' : format(v)),
            ...(s.fill === true ? { fill: `${s.color}22` } : {}),
          }),
        ),
      ],
      axes: [
        { ...axis((_u, splits) => splits.map((t) => timeLabel(t, utc))), size: 28 },
        { ...axis((_u, splits) => splits.map(format)), size: 64 },
      ],
    };
    const data = [timestamps as number[], ...series.map((s) => s.values as (number | null)[])] as uPlot.AlignedData;
    const plot = new uPlot(opts, data, el);
    const onClick = () => {
      const idx = plot.cursor.idx;
      if (idx !== null && idx !== undefined) {
        const t = timestamps[idx];
        if (t !== undefined) pick.current?.(t);
      }
    };
    plot.over.addEventListener('click', onClick);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.over.removeEventListener('click', onClick);
      plot.destroy();
    };
  }, [timestamps, series, height, format, utc, theme]);

  return (
    <div
      className="tl-chart"
      ref={box}
      role="img"
      aria-label={title}
      data-points={timestamps.length}
      style={props.onPick === undefined ? undefined : { cursor: 'pointer' }}
    />
  );
}

function timeLabel(t: number, utc: boolean): string {
  const d = new Date(t * 1000);
  const h = utc ? d.getUTCHours() : d.getHours();
  const m = utc ? d.getUTCMinutes() : d.getMinutes();
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}
