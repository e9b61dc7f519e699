/** The compare page (placeholder until the compare view lands). */
export function ComparePage(props: { readonly left: string; readonly right: string }) {
  return (
    <p>
      compare {props.left} {props.right}
    </p>
  );
}
