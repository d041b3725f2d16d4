//! Two small real data sets embedded in the crate (no download). Every
//! feature in both is positive: raw, they are exactly the non-centred inputs
//! the sign analysis is about.

use crate::element::Element;

use super::{Dataset, Table};

const IRIS: &str = include_str!("../../data/iris.csv");
const WINE: &str = include_str!("../../data/wine.csv");
const DIGITS: &str = include_str!("../../data/digits.csv");

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

/// The handwritten digits: 1,797 grey-scale images of 8 × 8 pixels, each a
/// row of 64 features `p0`..`p63` in row-major order with values 0–16
/// (every pixel non-negative, many exactly 0), 10 classes (the digit).
/// A convolutional network sees them as `(N, 1, 8, 8)` images through
/// [`Reshape`](crate::nn::Reshape).
///
/// Source: E. Alpaydin, C. Kaynak, "Optical Recognition of Handwritten
/// Digits", UCI Machine Learning Repository (1998), the test part as
/// distributed with scikit-learn (CC BY 4.0).
///
/// ```
/// let digits = gradsign::data::digits::<f32>();
/// assert_eq!((digits.len(), digits.width(), digits.classes()), (1797, 64, 10));
/// let x = digits.features().as_slice();
/// assert!(x.iter().all(|&p| (0.0..=16.0).contains(&p)));
/// ```
pub fn digits<F: Element>() -> Dataset<F> {
    load(DIGITS, "digits.csv")
}
