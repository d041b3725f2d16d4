//! Example 03: the analyzer's report on a real data set. Iris has four
//! measurements in centimetres, every one positive: the first layer's
//! inputs are one-signed, so on every example each of its neurons moves its
//! weights within two orthants. Standardised, they are not. The same
//! network and seed are trained on both; the report of one full-batch
//! gradient after training is taken on each.

use gradsign::activation::Activation;
use gradsign::analysis::{GradientSignAnalyzer, NetworkReport};
use gradsign::autodiff::Tape;
use gradsign::data::{Dataset, Standardizer, iris};
use gradsign::error::Result;
use gradsign::loss::{Reduction, softmax_cross_entropy};
use gradsign::metrics::accuracy;
use gradsign::nn::{Init, Mlp};
use gradsign::optim::Sgd;
use gradsign::train::{TrainConfig, train};

/// Settings of [`sign_report`].
#[derive(Clone, Debug, PartialEq)]
pub struct SignReportConfig {
    /// Hidden layer widths (tanh).
    pub hidden: Vec<usize>,
    /// Epochs of minibatch SGD.
    pub epochs: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// The SGD learning rate.
    pub learning_rate: f64,
    /// The seed of the weights and of the example order.
    pub seed: u64,
}

impl Default for SignReportConfig {
    fn default() -> Self {
        SignReportConfig {
            hidden: vec![16],
            epochs: 60,
            batch_size: 16,
            learning_rate: 0.05,
            seed: 3,
        }
    }
}

/// One version of the data: the training curve and the report.
#[derive(Clone, Debug)]
pub struct IrisCase {
    /// `"raw"` or `"standardised"`.
    pub name: &'static str,
    /// The mean training loss of each epoch.
    pub epoch_losses: Vec<f64>,
    /// Training accuracy after the last epoch.
    pub accuracy: f64,
    /// The analyzer's report of the full-batch gradient after training.
    pub report: NetworkReport,
}

/// What example 03 computes.
#[derive(Clone, Debug)]
pub struct SignReport {
    /// The settings.
    pub config: SignReportConfig,
    /// The raw measurements.
    pub raw: IrisCase,
    /// The standardised measurements.
    pub standardised: IrisCase,
}

fn case(name: &'static str, data: &Dataset<f64>, config: &SignReportConfig) -> Result<IrisCase> {
    let mut sizes = vec![data.width()];
    sizes.extend(&config.hidden);
    sizes.push(data.classes());
    let mut mlp = Mlp::builder(&sizes)
        .hidden(Activation::Tanh)
        .output(Activation::Identity)
        .init(Init::GlorotUniform)
        .seed(config.seed)
        .build()?;
    let mut opt = Sgd::new(config.learning_rate);
    let train_config = TrainConfig {
        epochs: config.epochs,
        batch_size: config.batch_size,
        seed: config.seed,
        ..TrainConfig::default()
    };
    let trained = train(
        &mut mlp,
        &mut opt,
        data,
        &train_config,
        |out, batch| softmax_cross_entropy(out, batch.labels, Reduction::Mean),
        &mut |_| {},
    )?;
    let tape = Tape::new();
    let x = tape.constant(data.features());
    let (out, trace) = gradsign::nn::forward(&mlp, &tape, x)?;
    let grads = softmax_cross_entropy(out, data.labels(), Reduction::Mean)?.backward()?;
    let report = GradientSignAnalyzer::default().analyze(&trace, &grads)?;
    Ok(IrisCase {
        name,
        epoch_losses: trained.epoch_losses,
        accuracy: accuracy(&out.value(), data.labels(), 0.0)?,
        report,
    })
}

/// Trains the same network (tanh hidden layers, softmax output, plain SGD)
/// on iris raw and standardised, and analyses one full-batch gradient of
/// each.
///
/// ```no_run
/// use gradsign_studies::sign_report::{sign_report, SignReportConfig};
/// let r = sign_report(&SignReportConfig::default())?;
/// println!("{}", r.raw.report);
/// # Ok::<(), gradsign::Error>(())
/// ```
///
/// # Errors
/// Any error of training or of the analyzer (none for valid settings).
pub fn sign_report(config: &SignReportConfig) -> Result<SignReport> {
    let raw = iris::<f64>();
    let scaler = Standardizer::fit(raw.features())?;
    let standardised = raw.clone().map_features(|x| scaler.transform(x))?;
    Ok(SignReport {
        config: config.clone(),
        raw: case("raw", &raw, config)?,
        standardised: case("standardised", &standardised, config)?,
    })
}
