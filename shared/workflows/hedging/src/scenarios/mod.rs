//! The volatility scenario set: Latin hypercube samples of the volatility hyperparameters.
