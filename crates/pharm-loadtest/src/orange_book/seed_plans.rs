//! The real molecules the file starts with (atorvastatin, levothyroxine, tadalafil ...).

use super::generator::Gen;
use super::plan::*;
use super::text::strength_amount;
use super::words::*;

/// The real molecules the file starts with, so benchmarks can ask about familiar products.
pub(super) fn seed_plans(g: &Gen) -> Vec<Plan> {
    let brand = |name: &str,
                 firm: &str,
                 appl_no: u32,
                 rld: bool,
                 strengths: Vec<usize>,
                 codes: Vec<u8>,
                 year: u32| BrandPlan {
        trade_name: name.to_string(),
        applicant: g.firm(firm),
        rld,
        strengths,
        codes,
        year,
        appl_no: Some(appl_no),
    };
    let mg = |vals: &[u32], eq: bool| {
        vals.iter()
            .map(|&v| strength_amount(Style::Solid, v, eq))
            .collect::<Vec<_>>()
    };
    let levo_note = Some(" **See current Annual Edition, 1.8 Description of Special Situations, Levothyroxine Sodium".to_string());
    let kcl_note = Some(
        " **See current Annual Edition, 1.8 Description of Special Situations, Potassium Chloride"
            .to_string(),
    );
    let base = |ingredient: &str,
                generic_name: &str,
                form: FormSpec,
                strengths: Vec<String>,
                brands: Vec<BrandPlan>| Plan {
        ingredient: ingredient.to_string(),
        generic_name: generic_name.to_string(),
        form,
        strengths,
        brands,
        generic_codes: Vec::new(),
        generics: 0,
        scheme: Scheme::Single,
        family: "AB",
        otc: false,
        all_discn: false,
        brand_discn: 0,
        special_note: None,
    };
    let levo_strengths = [25, 50, 75, 88, 100, 112, 125, 137, 150, 175, 200, 300];
    let all12: Vec<usize> = (0..12).collect();
    vec![
        Plan {
            generics: 34,
            ..base(
                "ATORVASTATIN CALCIUM",
                "ATORVASTATIN CALCIUM",
                TABLET,
                mg(&[10_000, 20_000, 40_000, 80_000], true),
                vec![brand(
                    "LIPITOR",
                    "UPJOHN",
                    20_702,
                    true,
                    vec![0, 1, 2, 3],
                    vec![],
                    1996,
                )],
            )
        },
        Plan {
            generics: 11,
            scheme: Scheme::MultiCode(4),
            special_note: levo_note,
            generic_codes: vec![
                vec![1, 2, 3, 4],
                vec![1, 2, 3],
                vec![2],
                vec![4],
                vec![1, 2, 3],
                vec![1],
                vec![3],
                vec![1, 2],
                vec![2],
                vec![1, 2, 3, 4],
                vec![4],
            ],
            ..base(
                "LEVOTHYROXINE SODIUM",
                "LEVOTHYROXINE SODIUM",
                TABLET,
                mg(&levo_strengths, false),
                vec![
                    brand(
                        "SYNTHROID",
                        "ABBVIE",
                        21_402,
                        true,
                        all12.clone(),
                        vec![1, 2],
                        2002,
                    ),
                    brand(
                        "UNITHROID",
                        "STEVENS J",
                        21_210,
                        true,
                        all12.clone(),
                        vec![1, 2, 3],
                        2000,
                    ),
                    brand(
                        "LEVOXYL",
                        "KING PHARMS",
                        21_301,
                        true,
                        all12.clone(),
                        vec![1, 3],
                        2001,
                    ),
                    brand(
                        "LEVO-T",
                        "CEDIPROF INC",
                        21_342,
                        false,
                        all12,
                        vec![1, 2, 3],
                        2002,
                    ),
                ],
            )
        },
        Plan {
            generics: 18,
            scheme: Scheme::TwoRld,
            ..base(
                "TADALAFIL",
                "TADALAFIL",
                TABLET,
                mg(&[2_500, 5_000, 10_000, 20_000], false),
                vec![
                    brand(
                        "CIALIS",
                        "LILLY",
                        21_368,
                        true,
                        vec![0, 1, 2, 3],
                        vec![1],
                        2003,
                    ),
                    brand(
                        "ADCIRCA",
                        "ELI LILLY CO",
                        22_332,
                        true,
                        vec![3],
                        vec![2],
                        2009,
                    ),
                ],
            )
        },
        Plan {
            generics: 9,
            ..base(
                "AMLODIPINE BESYLATE; ATORVASTATIN CALCIUM",
                "AMLODIPINE BESYLATE AND ATORVASTATIN CALCIUM",
                TABLET,
                [
                    "EQ 2.5MG BASE;EQ 10MG BASE",
                    "EQ 5MG BASE;EQ 10MG BASE",
                    "EQ 5MG BASE;EQ 20MG BASE",
                    "EQ 10MG BASE;EQ 80MG BASE",
                ]
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
                vec![brand(
                    "CADUET",
                    "PHARMACIA",
                    21_540,
                    true,
                    vec![0, 1, 2, 3],
                    vec![],
                    2004,
                )],
            )
        },
        Plan {
            generics: 14,
            scheme: Scheme::MultiCode(3),
            special_note: kcl_note,
            ..base(
                "POTASSIUM CHLORIDE",
                "POTASSIUM CHLORIDE",
                TABLET_ER,
                vec![
                    "8MEQ".to_string(),
                    "10MEQ".to_string(),
                    "15MEQ".to_string(),
                    "20MEQ".to_string(),
                ],
                vec![
                    brand(
                        "K-TAB",
                        "ABBVIE",
                        18_279,
                        true,
                        vec![0, 1, 3],
                        vec![1],
                        1986,
                    ),
                    brand(
                        "KLOR-CON M20",
                        "VALIDUS",
                        19_123,
                        true,
                        vec![3],
                        vec![2],
                        1996,
                    ),
                    brand(
                        "KLOR-CON",
                        "UPJOHN",
                        20_161,
                        true,
                        vec![0, 1, 2],
                        vec![3],
                        1998,
                    ),
                ],
            )
        },
        Plan {
            generics: 6,
            family: "AA",
            ..base(
                "ERGOCALCIFEROL",
                "ERGOCALCIFEROL",
                CAPSULE,
                vec!["50,000 IU".to_string()],
                vec![brand(
                    "DRISDOL",
                    "VALIDUS PHARMS",
                    3_444,
                    true,
                    vec![0],
                    vec![],
                    1975,
                )],
            )
        },
        Plan {
            generics: 5,
            ..base(
                "ETHINYL ESTRADIOL; LEVONORGESTREL",
                "LEVONORGESTREL AND ETHINYL ESTRADIOL",
                f("TABLET;ORAL-28", Style::Solid, Family::Ab, false),
                vec![
                    "0.03MG,0.04MG,0.03MG;0.05MG,0.075MG,0.125MG".to_string(),
                    "0.02MG,0.01MG;0.1MG,N/A".to_string(),
                ],
                vec![brand(
                    "TRIPHASIL-28",
                    "WYETH PHARMS",
                    19_192,
                    true,
                    vec![0, 1],
                    vec![],
                    1984,
                )],
            )
        },
    ]
}
