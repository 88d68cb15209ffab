//! The "obvious alternative a vendor would write": the Orange Book products in an
//! in-memory SQLite database, and one prepared statement that answers "what may I dispense
//! for this product".
//!
//! Schema (indexes as a careful vendor would add them):
//!
//! ```sql
//! product(id INTEGER PRIMARY KEY, appl_type, appl_no, product_no, ingredients, df_route,
//!         strength_norm, status, applicant, trade_name)   -- UNIQUE (appl_type, appl_no, product_no)
//! te_code(product_id, code)                               -- index (product_id, code), (code)
//! stock(product_id INTEGER PRIMARY KEY, in_stock, tier, cost_millis)
//! ```
//!
//! plus an index on `product(ingredients, df_route, strength_norm, status)`.
//!
//! No `ANALYZE`: the bundled SQLite is built with `SQLITE_ENABLE_STAT4`, and once stat4
//! samples exist a statement whose bound parameter meets an indexed column is re-prepared
//! whenever the binding changes, which made this query 4–6× slower in our runs. Without
//! statistics the planner already picks the indexes above ([`SqlitePeer::query_plan`]).
//! The checks on the written product's own codes are separate terms so SQLite evaluates
//! them once per query rather than once per candidate.
//!
//! The query applies the same rule as [`Catalog::substitutes`] with a permissive policy
//! and DAW 0: the product as written, plus every product with the same ingredients (salt
//! included), dosage form and route and normalized strength, where both are `RX`, both
//! carry only A codes and they share a code token; ordered in stock first, then formulary
//! tier, then cost (unknowns last), the product as written before an equivalent at a tie,
//! then by key (NDA before ANDA, then numbers).

use std::collections::BTreeSet;

use pharm_subst::catalog::Catalog;
use pharm_subst::policy::{SubstitutionContext, SubstitutionPolicy};
use pharm_subst::record::{ApplType, MarketingStatus, ObProduct, ProductKey};
use rusqlite::{Connection, params};

use super::StockTable;

/// One row of the SQL answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlChoice {
    /// The product.
    pub key: ProductKey,
    /// It is the product as written.
    pub as_written: bool,
    /// On hand.
    pub in_stock: bool,
    /// Formulary tier.
    pub tier: Option<u8>,
    /// Unit cost in thousandths of a dollar.
    pub cost_millis: Option<i64>,
}

/// The in-memory SQLite database.
#[derive(Debug)]
pub struct SqlitePeer {
    conn: Connection,
}

const SCHEMA: &str = "
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE product (
    id INTEGER PRIMARY KEY,
    appl_type TEXT NOT NULL,
    appl_no INTEGER NOT NULL,
    product_no INTEGER NOT NULL,
    ingredients TEXT NOT NULL,
    df_route TEXT NOT NULL,
    strength_norm TEXT NOT NULL,
    status TEXT NOT NULL,
    applicant TEXT NOT NULL,
    trade_name TEXT NOT NULL
);
CREATE TABLE te_code (
    product_id INTEGER NOT NULL REFERENCES product(id),
    code TEXT NOT NULL
);
CREATE TABLE stock (
    product_id INTEGER PRIMARY KEY REFERENCES product(id),
    in_stock INTEGER NOT NULL,
    tier INTEGER,
    cost_millis INTEGER
);
";

const INDEXES: &str = "
CREATE UNIQUE INDEX product_key ON product(appl_type, appl_no, product_no);
CREATE INDEX product_equiv ON product(ingredients, df_route, strength_norm, status);
CREATE INDEX te_code_product ON te_code(product_id, code);
CREATE INDEX te_code_code ON te_code(code);

";

/// The substitution query (`?1` appl_type, `?2` appl_no, `?3` product_no).
pub const SUBSTITUTES_SQL: &str = "
WITH w AS (
    SELECT id, ingredients, df_route, strength_norm, status
    FROM product
    WHERE appl_type = ?1 AND appl_no = ?2 AND product_no = ?3
),
m AS (
    SELECT w.id AS id, 1 AS as_written FROM w
    UNION ALL
    SELECT q.id, 0
    FROM w
    JOIN product q
      ON q.ingredients = w.ingredients
     AND q.df_route = w.df_route
     AND q.strength_norm = w.strength_norm
     AND q.status = 'RX'
    WHERE w.status = 'RX'
      AND NOT EXISTS (SELECT 1 FROM te_code t WHERE t.product_id = w.id AND substr(t.code, 1, 1) <> 'A')
      AND q.id <> w.id
      AND EXISTS (SELECT 1 FROM te_code a JOIN te_code b ON b.product_id = q.id AND b.code = a.code
                  WHERE a.product_id = w.id)
      AND NOT EXISTS (SELECT 1 FROM te_code t WHERE t.product_id = q.id AND substr(t.code, 1, 1) <> 'A')
)
SELECT p.appl_type, p.appl_no, p.product_no, m.as_written,
       COALESCE(s.in_stock, 0) AS in_stock, s.tier, s.cost_millis
FROM m
JOIN product p ON p.id = m.id
LEFT JOIN stock s ON s.product_id = m.id
ORDER BY in_stock DESC,
         s.tier IS NULL, s.tier,
         s.cost_millis IS NULL, s.cost_millis,
         m.as_written DESC,
         p.appl_type = 'A', p.appl_no, p.product_no
";

fn status_text(s: MarketingStatus) -> &'static str {
    match s {
        MarketingStatus::Rx => "RX",
        MarketingStatus::Otc => "OTC",
        MarketingStatus::Discn => "DISCN",
    }
}

fn type_text(t: ApplType) -> &'static str {
    match t {
        ApplType::Nda => "N",
        ApplType::Anda => "A",
    }
}

impl SqlitePeer {
    /// Loads the products (and their TE codes) into a new in-memory database and builds
    /// the indexes.
    pub fn load(products: &[ObProduct]) -> rusqlite::Result<Self> {
        let mut conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        let tx = conn.transaction()?;
        {
            let mut product = tx.prepare(
                "INSERT INTO product (id, appl_type, appl_no, product_no, ingredients, df_route, strength_norm, status, applicant, trade_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            let mut code = tx.prepare("INSERT INTO te_code (product_id, code) VALUES (?1, ?2)")?;
            let mut df_route = String::new();
            for (i, p) in products.iter().enumerate() {
                let id = i as i64 + 1;
                df_route.clear();
                df_route.push_str(&p.dosage_form);
                df_route.push(';');
                df_route.push_str(&p.route);
                product.execute(params![
                    id,
                    type_text(p.key.appl_type),
                    p.key.appl_no,
                    p.key.product_no,
                    p.ingredients.join("; "),
                    df_route,
                    p.strength.normalized,
                    status_text(p.status),
                    p.applicant,
                    p.trade_name,
                ])?;
                for c in &p.te_codes {
                    code.execute(params![id, c.to_string()])?;
                }
            }
        }
        tx.commit()?;
        conn.execute_batch(INDEXES)?;
        Ok(SqlitePeer { conn })
    }

    /// Loads the store's stock, tier and cost rows (the caller's data, joined by the query).
    pub fn load_stock(&mut self, stock: &StockTable) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare(
                "INSERT INTO stock (product_id, in_stock, tier, cost_millis)
                 SELECT id, ?4, ?5, ?6 FROM product WHERE appl_type = ?1 AND appl_no = ?2 AND product_no = ?3",
            )?;
            for (key, row) in stock.iter() {
                insert.execute(params![
                    type_text(key.appl_type),
                    key.appl_no,
                    key.product_no,
                    row.in_stock,
                    row.tier,
                    row.cost_millis
                ])?;
            }
        }
        tx.commit()
    }

    /// The products that may be dispensed for `key`, best first (empty when the key is
    /// unknown). Uses a cached prepared statement.
    pub fn substitutes(&self, key: &ProductKey) -> rusqlite::Result<Vec<SqlChoice>> {
        let mut out = Vec::new();
        self.substitutes_into(key, &mut out)?;
        Ok(out)
    }

    /// Like [`SqlitePeer::substitutes`], into a caller's buffer (cleared first).
    pub fn substitutes_into(
        &self,
        key: &ProductKey,
        out: &mut Vec<SqlChoice>,
    ) -> rusqlite::Result<()> {
        out.clear();
        let mut stmt = self.conn.prepare_cached(SUBSTITUTES_SQL)?;
        let mut rows = stmt.query(params![
            type_text(key.appl_type),
            key.appl_no,
            key.product_no
        ])?;
        while let Some(r) = rows.next()? {
            let t: String = r.get(0)?;
            out.push(SqlChoice {
                key: ProductKey {
                    appl_type: if t == "N" {
                        ApplType::Nda
                    } else {
                        ApplType::Anda
                    },
                    appl_no: r.get(1)?,
                    product_no: r.get(2)?,
                },
                as_written: r.get(3)?,
                in_stock: r.get(4)?,
                tier: r.get(5)?,
                cost_millis: r.get(6)?,
            });
        }
        Ok(())
    }

    /// `EXPLAIN QUERY PLAN` of the substitution query, one line per step.
    pub fn query_plan(&self) -> rusqlite::Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {SUBSTITUTES_SQL}"))?;
        let rows = stmt.query_map(params!["A", 1, 1], |r| r.get::<_, String>(3))?;
        rows.collect()
    }

    /// Number of rows in `product`.
    pub fn product_count(&self) -> rusqlite::Result<usize> {
        self.conn
            .query_row("SELECT COUNT(*) FROM product", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
    }
}

/// A key whose SQL answer differs from the graph's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The product as written.
    pub key: ProductKey,
    /// The graph's answer, in order.
    pub graph: Vec<ProductKey>,
    /// The SQL answer, in order.
    pub sql: Vec<ProductKey>,
}

/// How far the SQL peer and [`Catalog::substitutes`] agree.
#[derive(Debug, Clone, Default)]
pub struct Agreement {
    /// Keys compared.
    pub checked: usize,
    /// Keys whose answers hold the same set of products.
    pub same_set: usize,
    /// Keys whose answers also list them in the same order with the same stock facts.
    pub same_order: usize,
    /// Keys with an answer of more than one product.
    pub with_equivalents: usize,
    /// Products listed over all answers (graph side).
    pub total_choices: usize,
    /// Keys whose answer sets differ (at most 20 kept).
    pub set_mismatches: Vec<Mismatch>,
    /// Keys with the same set in a different order (at most 20 kept).
    pub order_mismatches: Vec<Mismatch>,
}

impl Agreement {
    /// Every compared answer had the same set of products.
    pub fn sets_agree(&self) -> bool {
        self.same_set == self.checked
    }
}

/// Compares both answers for each key, as sets of product keys and as ordered lists (with
/// the stock facts each side attached).
pub fn compare(
    catalog: &Catalog,
    peer: &SqlitePeer,
    stock: &StockTable,
    keys: &[ProductKey],
) -> rusqlite::Result<Agreement> {
    let policy = SubstitutionPolicy::permissive("TX");
    let ctx = SubstitutionContext::new(&policy, stock);
    let mut agreement = Agreement::default();
    for key in keys {
        let sql = peer.substitutes(key)?;
        let sql_keys: Vec<ProductKey> = sql.iter().map(|c| c.key).collect();
        let Ok(answer) = catalog.substitutes(key, &ctx) else {
            agreement.checked += 1;
            if sql.is_empty() {
                agreement.same_set += 1;
                agreement.same_order += 1;
            } else {
                push(
                    &mut agreement.set_mismatches,
                    Mismatch {
                        key: *key,
                        graph: Vec::new(),
                        sql: sql_keys,
                    },
                );
            }
            continue;
        };
        let graph_keys: Vec<ProductKey> = answer.choices.iter().map(|c| c.key).collect();
        agreement.checked += 1;
        agreement.total_choices += graph_keys.len();
        agreement.with_equivalents += usize::from(graph_keys.len() > 1);
        let gs: BTreeSet<_> = graph_keys.iter().collect();
        let ss: BTreeSet<_> = sql_keys.iter().collect();
        if gs != ss || graph_keys.len() != sql_keys.len() {
            push(
                &mut agreement.set_mismatches,
                Mismatch {
                    key: *key,
                    graph: graph_keys,
                    sql: sql_keys,
                },
            );
            continue;
        }
        agreement.same_set += 1;
        let facts_match = answer.choices.iter().zip(&sql).all(|(g, s)| {
            g.key == s.key
                && g.in_stock == s.in_stock
                && g.formulary_tier == s.tier
                && g.unit_cost == s.cost_millis.map(|m| rust_decimal::Decimal::new(m, 3))
                && (g.key == *key) == s.as_written
        });
        if facts_match {
            agreement.same_order += 1;
        } else {
            push(
                &mut agreement.order_mismatches,
                Mismatch {
                    key: *key,
                    graph: graph_keys,
                    sql: sql_keys,
                },
            );
        }
    }
    Ok(agreement)
}

fn push(list: &mut Vec<Mismatch>, m: Mismatch) {
    if list.len() < 20 {
        list.push(m);
    }
}
