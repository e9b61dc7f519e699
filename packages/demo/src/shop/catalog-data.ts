/** The shop's products, the same on every run and in both the PostgreSQL and the embedded store. */

/** One product. */
export interface Product {
  readonly id: string;
  readonly name: string;
  readonly category: string;
  readonly priceCents: number;
}

const ADJECTIVES = ['Woven', 'Linen', 'Indigo', 'Merino', 'Waxed', 'Quilted', 'Braided', 'Felted'];
const THINGS = ['Scarf', 'Tote', 'Blanket', 'Apron', 'Cushion'];
const CATEGORIES = ['accessories', 'bags', 'home', 'kitchen', 'home'];

/** 40 products: `p-001` to `p-040`. */
export const PRODUCTS: readonly Product[] = Array.from({ length: ADJECTIVES.length * THINGS.length }, (_, i) => {
  const thing = i % THINGS.length;
  return {
    id: `p-${String(i + 1).padStart(3, '0')}`,
    name: `${ADJECTIVES[Math.floor(i / THINGS.length)]} ${THINGS[thing]}`,
    category: CATEGORIES[thing] as string,
    priceCents: 900 + ((i * 733) % 9000),
  };
});

/** Reviews per product (three each). */
export function reviewsOf(productId: string): { rating: number; body: string }[] {
  const n = Number(productId.slice(2));
  return [0, 1, 2].map((k) => ({
    rating: 1 + ((n * 7 + k * 3) % 5),
    body: ['Lovely weave.', 'Arrived quickly, as pictured.', 'The colour faded after a wash.'][k] as string,
  }));
}

/** Units in stock at start. */
export const INITIAL_STOCK = 1000;

/** The schema the supervisor creates for one run (PostgreSQL). */
export const SCHEMA_SQL = `
CREATE TABLE products (id text PRIMARY KEY, name text NOT NULL, category text NOT NULL, price_cents integer NOT NULL);
CREATE TABLE reviews (id serial PRIMARY KEY, product_id text NOT NULL, rating integer NOT NULL, body text NOT NULL);
CREATE INDEX reviews_product ON reviews (product_id);
CREATE TABLE stock (sku text PRIMARY KEY, quantity integer NOT NULL);
CREATE TABLE orders (id text PRIMARY KEY, user_id text NOT NULL, total_cents integer NOT NULL, items integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE payments (id serial PRIMARY KEY, order_id text NOT NULL, amount_cents integer NOT NULL, status text NOT NULL);
CREATE TABLE shipments (id serial PRIMARY KEY, order_id text NOT NULL, carrier text NOT NULL, tracking text NOT NULL);
`;
