//! Two small real data sets embedded in the crate (no download). Every
//! feature in both is positive: raw, they are exactly the non-centred inputs
//! the sign analysis is about.

use crate::element::Element;

use super::{Dataset, Table};

const IRIS: &str = include_str!("../../data/iris.csv");
const WINE: &str = include_str!("../../data/wine.csv");

fn load<F: Element>(text: &str, name: &str) -> Dataset<F> {
    let table = Table::parse(text, name, true).expect("the embedded CSV parses");
    let label = table.names().len() - 1;
    table
        .into_dataset(label)
        .expect("the embedded CSV has integer labels in its last column")
}

/// Fisher's iris data: 150 flowers, 4 features in cm (sepal length and
/// width, petal length and width), 3 classes (0 setosa, 1 versicolor,
/// 2 virginica), 50 each.
///
/// Source: R. A. Fisher, "The use of multiple measurements in taxonomic
/// problems", Annals of Eugenics 7 (1936); the copy kept in the UCI
/// Machine Learning Repository (CC BY 4.0).
///
/// ```
/// let iris = gradsign::data::iris::<f32>();
/// assert_eq!((iris.len(), iris.width(), iris.classes()), (150, 4, 3));
/// assert!(iris.features().as_slice().iter().all(|&x| x > 0.0));
/// ```
pub fn iris<F: Element>() -> Dataset<F> {
    load(IRIS, "iris.csv")
}

/// The wine data: 178 wines from three cultivars, 13 features from a
/// chemical analysis (alcohol, malic acid, …, proline).
///
/// Source: UCI Machine Learning Repository, Wine data set (Forina et al.;
/// CC BY 4.0).
///
/// ```
/// let wine = gradsign::data::wine::<f64>();
/// assert_eq!((wine.len(), wine.width(), wine.classes()), (178, 13, 3));
/// assert_eq!(wine.feature_names()[0], "alcohol");
/// ```
pub fn wine<F: Element>() -> Dataset<F> {
    load(WINE, "wine.csv")
}
