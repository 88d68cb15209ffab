//! A loaded Orange Book release: products, their key index and the equivalence graph.

use std::collections::HashMap;

use petgraph::graph::{NodeIndex, UnGraph};
use petgraph::visit::EdgeRef;

use crate::query::UnknownProduct;
use crate::record::{MarketingStatus, ObProduct, ProductKey};
use crate::te::TeCode;

/// The products of one Orange Book release and the therapeutic-equivalence graph over them.
///
/// Node `i` of the graph is `products[i]`. An edge joins two products that are marketed
/// prescription products, pharmaceutically equivalent (same ingredients including salt, same
/// dosage form and route, same normalized strength) and share at least one A-code token; its
/// weight is the first shared code. The relation is not transitive, so it is a graph, not a
/// set of classes: `AB4`-only and `AB1,AB2` levothyroxines are not joined even though an
/// `AB1,AB2,AB3,AB4` product is joined to both.
#[derive(Debug, Clone)]
pub struct Catalog {
    products: Vec<ObProduct>,
    by_key: HashMap<ProductKey, u32>,
    graph: UnGraph<(), TeCode>,
}

/// Two product rows with the same key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("product key {0} appears more than once")]
pub struct DuplicateKey(pub ProductKey);

/// Whether a product may take part in Orange-Book substitution at all: marketed RX, with TE
/// codes that are all A codes.
pub fn substitutable(p: &ObProduct) -> bool {
    p.status == MarketingStatus::Rx && !p.te_codes.is_empty() && p.te_codes.iter().all(TeCode::is_a)
}

/// Pharmaceutical equivalence: same ingredients (with salt), dosage form, route and
/// normalized strength.
pub fn pharmaceutically_equivalent(a: &ObProduct, b: &ObProduct) -> bool {
    a.ingredients == b.ingredients
        && a.dosage_form == b.dosage_form
        && a.route == b.route
        && a.strength.normalized == b.strength.normalized
}

/// The first TE code token both products carry (codes are compared as whole tokens:
/// `AB` ≠ `AB1`).
pub(crate) fn first_shared_code(a: &ObProduct, b: &ObProduct) -> Option<TeCode> {
    a.te_codes.iter().find(|c| b.te_codes.contains(c)).copied()
}

impl Catalog {
    /// Builds the catalog and its graph. Keys must be unique.
    pub fn build(products: Vec<ObProduct>) -> Result<Self, DuplicateKey> {
        let mut by_key = HashMap::with_capacity(products.len());
        let mut graph = UnGraph::with_capacity(products.len(), products.len() * 4);
        // Bucket substitutable products by pharmaceutical-equivalence key.
        let mut buckets: HashMap<(&[String], &str, &str, &str), Vec<u32>> = HashMap::new();
        for (i, p) in products.iter().enumerate() {
            let i = i as u32;
            if by_key.insert(p.key, i).is_some() {
                return Err(DuplicateKey(p.key));
            }
            graph.add_node(());
            if substitutable(p) {
                buckets
                    .entry((
                        p.ingredients.as_slice(),
                        p.dosage_form.as_str(),
                        p.route.as_str(),
                        p.strength.normalized.as_str(),
                    ))
                    .or_default()
                    .push(i);
            }
        }
        let mut edges = Vec::new();
        for members in buckets.values() {
            for (n, &a) in members.iter().enumerate() {
                for &b in &members[n + 1..] {
                    if let Some(code) =
                        first_shared_code(&products[a as usize], &products[b as usize])
                    {
                        edges.push((a, b, code));
                    }
                }
            }
        }
        // Deterministic edge order regardless of hash iteration order.
        edges.sort_unstable_by_key(|&(a, b, _)| (a, b));
        for (a, b, code) in edges {
            graph.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), code);
        }
        Ok(Catalog {
            products,
            by_key,
            graph,
        })
    }

    /// All products, in file order.
    pub fn products(&self) -> &[ObProduct] {
        &self.products
    }

    /// Number of products.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    /// True when no products are loaded.
    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }

    /// Number of equivalence edges.
    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// Index of a product by key.
    pub(crate) fn index_of(&self, key: &ProductKey) -> Option<usize> {
        self.by_key.get(key).map(|&i| i as usize)
    }

    /// A product by key.
    pub fn get(&self, key: &ProductKey) -> Option<&ObProduct> {
        self.index_of(key).map(|i| &self.products[i])
    }

    /// The product at an index.
    pub(crate) fn product(&self, index: usize) -> Option<&ObProduct> {
        self.products.get(index)
    }

    /// Equivalent products of the product at `index`, with the first shared code.
    pub(crate) fn neighbors(&self, index: usize) -> impl Iterator<Item = (usize, TeCode)> + '_ {
        let node = NodeIndex::new(index);
        let edges = (index < self.products.len()).then(|| self.graph.edges(node));
        edges.into_iter().flatten().map(move |e| {
            let other = if e.source() == node {
                e.target()
            } else {
                e.source()
            };
            (other.index(), *e.weight())
        })
    }

    /// Every equivalence edge once, as the indexes of its two products in
    /// [`products`](Self::products) (the lower first) and the first TE code they share, in
    /// the order the graph was built.
    pub fn edges(&self) -> impl Iterator<Item = (usize, usize, TeCode)> + '_ {
        self.graph.edge_references().map(|e| {
            let (a, b) = (e.source().index(), e.target().index());
            (a.min(b), a.max(b), *e.weight())
        })
    }

    /// The multi-source groups: connected components of the equivalence graph with at
    /// least two products, each as product indexes in file order, groups ordered by their
    /// first product. Equivalence is not transitive, so two products of one group are
    /// joined by a chain of A-ratings, not always A-rated to each other
    /// ([`equivalence`](Self::equivalence) tells).
    pub fn groups(&self) -> Vec<Vec<usize>> {
        let mut sets = petgraph::unionfind::UnionFind::<usize>::new(self.products.len());
        for (a, b, _) in self.edges() {
            sets.union(a, b);
        }
        let mut by_root: HashMap<usize, usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for index in 0..self.products.len() {
            if self.neighbors(index).next().is_none() {
                continue;
            }
            let slot = *by_root.entry(sets.find(index)).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[slot].push(index);
        }
        groups
    }

    /// The products A-rated to `key` (its neighbours in the graph), each with the first
    /// TE code the two share, in graph order.
    pub fn equivalents(
        &self,
        key: &ProductKey,
    ) -> Result<impl Iterator<Item = (&ObProduct, TeCode)> + '_, UnknownProduct> {
        let index = self.index_of(key).ok_or(UnknownProduct(*key))?;
        Ok(self
            .neighbors(index)
            .map(|(n, code)| (&self.products[n], code)))
    }

    /// The first TE code `a` and `b` share when they are joined in the graph (A-rated to
    /// each other), `None` when they are not or either is unknown.
    pub fn equivalence(&self, a: &ProductKey, b: &ProductKey) -> Option<TeCode> {
        self.edge(self.index_of(a)?, self.index_of(b)?)
    }

    /// The code on the edge between two products, if they are joined.
    fn edge(&self, a: usize, b: usize) -> Option<TeCode> {
        if a >= self.products.len() || b >= self.products.len() {
            return None;
        }
        self.graph
            .find_edge(NodeIndex::new(a), NodeIndex::new(b))
            .and_then(|e| self.graph.edge_weight(e).copied())
    }

    /// Approximate heap bytes held by the catalog (strings, vectors, index and graph).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let strings: usize = self
            .products
            .iter()
            .map(|p| {
                p.ingredients
                    .iter()
                    .map(|s| s.capacity() + size_of::<String>())
                    .sum::<usize>()
                    + p.dosage_form.capacity()
                    + p.route.capacity()
                    + p.trade_name.capacity()
                    + p.applicant.capacity()
                    + p.applicant_full_name.capacity()
                    + p.strength.raw.capacity()
                    + p.strength.text.capacity()
                    + p.strength.normalized.capacity()
                    + p.strength.footnote.as_ref().map_or(0, String::capacity)
                    + p.te_codes.capacity() * size_of::<TeCode>()
            })
            .sum();
        let products = self.products.capacity() * size_of::<ObProduct>();
        let index = self.by_key.capacity() * (size_of::<ProductKey>() + size_of::<u32>() + 8);
        let graph =
            self.graph.node_count() * 16 + self.graph.edge_count() * (16 + size_of::<TeCode>() + 8);
        strings + products + index + graph
    }
}
