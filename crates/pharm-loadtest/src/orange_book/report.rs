//! The shape of a loaded catalog (status mix, TE-code mix, group sizes), as a table.

use std::collections::{HashMap, HashSet};
use std::fmt;

use pharm_subst::catalog::Catalog;
use pharm_subst::record::MarketingStatus;

/// Bins of a size histogram: `1`, `2`, `3–5`, `6–10`, `11–20`, `21–30`, `31–40`, `41+`.
pub const SIZE_BINS: [(usize, usize); 8] = [
    (1, 1),
    (2, 2),
    (3, 5),
    (6, 10),
    (11, 20),
    (21, 30),
    (31, 40),
    (41, usize::MAX),
];

fn bin_of(size: usize) -> usize {
    SIZE_BINS
        .iter()
        .position(|&(lo, hi)| size >= lo && size <= hi)
        .unwrap_or(0)
}

/// Shape of a loaded catalog: marketing-status mix, TE-code mix and group sizes.
#[derive(Debug, Clone, Default)]
pub struct CatalogSummary {
    /// Products.
    pub products: usize,
    /// Equivalence edges.
    pub edges: usize,
    /// Distinct ingredient lists.
    pub molecules: usize,
    /// Distinct (ingredients, dosage form, route).
    pub molecule_forms: usize,
    /// `RX` products.
    pub rx: usize,
    /// `OTC` products.
    pub otc: usize,
    /// `DISCN` products.
    pub discn: usize,
    /// Products with a B code.
    pub b_rated: usize,
    /// Products with more than one TE code.
    pub multi_coded: usize,
    /// Products with a numbered code (`AB1` …).
    pub numbered: usize,
    /// Products with the RLD flag.
    pub rld: usize,
    /// (ingredients, form) groups with a multi-coded product (levothyroxine style).
    pub multi_code_forms: usize,
    /// (ingredients, form) groups with numbered codes but no multi-coded product (Cialis /
    /// Adcirca style).
    pub numbered_forms: usize,
    /// ANDA products per (ingredients, form, strength) bucket: histogram over [`SIZE_BINS`]
    /// (buckets with at least one ANDA), and its median and maximum.
    pub anda_group_hist: [usize; 8],
    /// Median ANDA count of buckets with at least one ANDA.
    pub anda_group_median: usize,
    /// Largest ANDA count of a bucket.
    pub anda_group_max: usize,
    /// Buckets with no ANDA at all (brand only).
    pub brand_only_buckets: usize,
    /// Substitution-group size (the product plus its equivalents) of each marketed, A-rated
    /// RX product, over [`SIZE_BINS`].
    pub degree_hist: [usize; 8],
    /// Median substitution-group size of A-rated RX products.
    pub degree_median: usize,
    /// Largest substitution-group size.
    pub degree_max: usize,
}

impl CatalogSummary {
    /// Summarizes a catalog.
    pub fn of(catalog: &Catalog) -> Self {
        use pharm_subst::record::ApplType;
        let mut s = CatalogSummary {
            products: catalog.len(),
            edges: catalog.edge_count(),
            ..Self::default()
        };
        let mut molecules: HashSet<&[String]> = HashSet::new();
        let mut forms: HashMap<(&[String], &str, &str), (bool, bool)> = HashMap::new();
        let mut buckets: HashMap<(&[String], &str, &str, &str), usize> = HashMap::new();
        let mut degrees = Vec::new();
        for p in catalog.products() {
            molecules.insert(&p.ingredients);
            let form = forms
                .entry((&p.ingredients, &p.dosage_form, &p.route))
                .or_default();
            form.0 |= p.te_codes.len() > 1;
            form.1 |= p.te_codes.iter().any(|c| c.number().is_some());
            let anda = usize::from(p.key.appl_type == ApplType::Anda);
            *buckets
                .entry((
                    &p.ingredients,
                    &p.dosage_form,
                    &p.route,
                    &p.strength.normalized,
                ))
                .or_default() += anda;
            match p.status {
                MarketingStatus::Rx => s.rx += 1,
                MarketingStatus::Otc => s.otc += 1,
                MarketingStatus::Discn => s.discn += 1,
            }
            s.b_rated += usize::from(p.te_codes.iter().any(|c| c.is_b()));
            s.multi_coded += usize::from(p.te_codes.len() > 1);
            s.numbered += usize::from(p.te_codes.iter().any(|c| c.number().is_some()));
            s.rld += usize::from(p.rld);
            if pharm_subst::catalog::substitutable(p) {
                degrees.push(catalog.equivalents(&p.key).map_or(0, Iterator::count) + 1);
            }
        }
        s.molecules = molecules.len();
        s.molecule_forms = forms.len();
        s.multi_code_forms = forms.values().filter(|f| f.0).count();
        s.numbered_forms = forms.values().filter(|f| f.1 && !f.0).count();
        let mut sizes: Vec<usize> = buckets.values().copied().filter(|&n| n > 0).collect();
        s.brand_only_buckets = buckets.len() - sizes.len();
        sizes.sort_unstable();
        for &n in &sizes {
            s.anda_group_hist[bin_of(n)] += 1;
        }
        s.anda_group_median = sizes.get(sizes.len() / 2).copied().unwrap_or(0);
        s.anda_group_max = sizes.last().copied().unwrap_or(0);
        degrees.sort_unstable();
        for &n in &degrees {
            s.degree_hist[bin_of(n)] += 1;
        }
        s.degree_median = degrees.get(degrees.len() / 2).copied().unwrap_or(0);
        s.degree_max = degrees.last().copied().unwrap_or(0);
        s
    }
}

fn write_hist(f: &mut fmt::Formatter<'_>, hist: &[usize; 8]) -> fmt::Result {
    for (i, &(lo, hi)) in SIZE_BINS.iter().enumerate() {
        let label = match (lo, hi) {
            (lo, hi) if lo == hi => lo.to_string(),
            (lo, usize::MAX) => format!("{lo}+"),
            (lo, hi) => format!("{lo}-{hi}"),
        };
        write!(f, " {label}:{}", hist[i])?;
    }
    Ok(())
}

impl fmt::Display for CatalogSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pct = |n: usize| 100.0 * n as f64 / self.products.max(1) as f64;
        writeln!(
            f,
            "products {} ({} molecules, {} molecule-forms: {} multi-coded, {} with two numbered references), edges {}",
            self.products,
            self.molecules,
            self.molecule_forms,
            self.multi_code_forms,
            self.numbered_forms,
            self.edges
        )?;
        writeln!(
            f,
            "status: RX {:.1}%  DISCN {:.1}%  OTC {:.1}%;  B-rated {:.1}%  multi-coded {:.1}%  numbered {:.1}%  RLD {:.1}%",
            pct(self.rx),
            pct(self.discn),
            pct(self.otc),
            pct(self.b_rated),
            pct(self.multi_coded),
            pct(self.numbered),
            pct(self.rld)
        )?;
        write!(
            f,
            "ANDAs per (molecule, form, strength) [{} brand-only]:",
            self.brand_only_buckets
        )?;
        write_hist(f, &self.anda_group_hist)?;
        writeln!(
            f,
            "  (median {}, max {})",
            self.anda_group_median, self.anda_group_max
        )?;
        write!(f, "substitution group size of A-rated RX products:")?;
        write_hist(f, &self.degree_hist)?;
        write!(
            f,
            "  (median {}, max {})",
            self.degree_median, self.degree_max
        )
    }
}
