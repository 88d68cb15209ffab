//! The SQLite peer against the graph.

use pharm_subst::record::ProductKey;

use super::*;

#[test]
fn sqlite_peer_agrees_with_the_graph() {
    let catalog = load_catalog(&generate_products_txt(3, 6_000)).unwrap_or_else(|e| panic!("{e}"));
    let stock = StockTable::synthetic(catalog.products(), 3);
    let mut peer = sqlite::SqlitePeer::load(catalog.products()).unwrap_or_else(|e| panic!("{e}"));
    peer.load_stock(&stock).unwrap_or_else(|e| panic!("{e}"));
    let mut keys = uniform_keys(&catalog, 200, 3);
    keys.extend(sample_keys(&catalog, 200, 3).keys);
    let a = sqlite::compare(&catalog, &peer, &stock, &keys).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.checked, 400);
    assert!(a.sets_agree(), "{:?}", a.set_mismatches);
    assert_eq!(a.same_order, a.checked, "{:?}", a.order_mismatches);
    assert!(a.with_equivalents > 100);
    let unknown = ProductKey {
        appl_type: pharm_subst::record::ApplType::Anda,
        appl_no: 999_999,
        product_no: 999,
    };
    assert!(
        peer.substitutes(&unknown)
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}
