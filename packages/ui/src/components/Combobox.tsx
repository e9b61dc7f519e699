/**
 * A text input with suggestions fetched as the user types (attribute keys and
 * values). Arrow keys move through the list, Enter picks, Escape closes;
 * typing anything not in the list is allowed.
 */
import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { isAbort } from '../api/client.ts';

export interface ComboboxProps {
  readonly value: string;
  readonly onChange: (value: string) => void;
  /** Suggestions for what is typed so far. */
  readonly suggest: (prefix: string, signal: AbortSignal) => Promise<readonly string[]>;
  readonly placeholder?: string;
  readonly ariaLabel: string;
  readonly disabled?: boolean;
  readonly className?: string;
  readonly testId?: string;
}

/** The input with its suggestion list. */
export function Combobox(props: ComboboxProps) {
  const [open, setOpen] = useState(false);
  const [options, setOptions] = useState<readonly string[]>([]);
  const [active, setActive] = useState(-1);
  const listId = useId();
  const { value, suggest } = props;
  const blurTimer = useRef<number | undefined>(undefined);

  useEffect(() => {
    if (!open) return undefined;
    const ctl = new AbortController();
    const timer = window.setTimeout(() => {
      suggest(value, ctl.signal).then(
        (list) => {
          setOptions(list);
          setActive(-1);
        },
        (e: unknown) => {
          if (!isAbort(e)) setOptions([]);
        },
      );
    }, 120);
    return () => {
      window.clearTimeout(timer);
      ctl.abort();
    };
  }, [open, value, suggest]);

  const pick = (v: string) => {
    props.onChange(v);
    setOpen(false);
  };

  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(options.length - 1, a + 1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((a) => Math.max(-1, a - 1));
    } else if (e.key === 'Enter' && open && active >= 0 && options[active] !== undefined) {
      e.preventDefault();
      pick(options[active]);
    } else if (e.key === 'Escape') {
      setOpen(false);
    }
  };

  const shown = open && options.length > 0 && !(options.length === 1 && options[0] === value);
  return (
    <div className={`combobox ${props.className ?? ''}`}>
      <input
        type="text"
        role="combobox"
        aria-label={props.ariaLabel}
        aria-expanded={shown}
        aria-controls={listId}
        aria-autocomplete="list"
        autoComplete="off"
        spellCheck={false}
        data-testid={props.testId}
        placeholder={props.placeholder}
        disabled={props.disabled}
        value={value}
        onChange={(e) => {
          props.onChange(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => {
          // Let a click on an option land before the list closes.
          blurTimer.current = window.setTimeout(() => setOpen(false), 150);
        }}
        onKeyDown={onKey}
      />
      {shown && (
        <div className="combobox-list" id={listId} role="listbox">
          {options.map((o, i) => (
            <div
              key={o}
              role="option"
              tabIndex={-1}
              aria-selected={i === active}
              className={i === active ? 'active' : undefined}
              onMouseDown={(e) => {
                e.preventDefault();
                window.clearTimeout(blurTimer.current);
                pick(o);
              }}
            >
              {o === '' ? <span className="muted">(empty)</span> : o}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
