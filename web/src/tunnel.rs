//! The headers a data plane and the control plane exchange when the data
//! plane tunnels the dashboard's API (`/ui/api/*`) to the control plane.
//! Defined once here because both ends must agree on them byte for byte.

/// Set by the data plane on a tunnelled request: the `<root>/ui` it serves
/// the page under (the session cookie's path).
pub const UI_BASE_HEADER: &str = "x-tollgate-ui-base";

/// The control plane's answer to an authorized "check now": the data plane
/// that tunnelled it runs this deployment's health probe (it holds the
/// provider credentials) and answers the probe's result instead.
pub const PROBE_HEADER: &str = "x-tollgate-health-probe";
