//! `tollgate customers …`: end users through the AdminService.

use crate::admin::{Connection, explain};
use crate::table::{print_json, print_line, print_table};
use serde_json::{Value, json};
use tollgate_proto::org_json::customer_json;
use tollgate_proto::v1::{
    CreateCustomerRequest, Customer, CustomerSpec, DeleteCustomersRequest, GetCustomerRequest,
    ListCustomersRequest, SetCustomerBlockedRequest, UpdateCustomerRequest,
};

#[derive(clap::Args)]
pub struct CustomersArgs {
    #[command(flatten)]
    connection: Connection,
    #[command(subcommand)]
    command: CustomersCommand,
}

#[derive(clap::Subcommand)]
enum CustomersCommand {
    /// Create an end user (the `user` of requests).
    Create {
        user_id: String,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// List end users.
    List,
    /// Show an end user.
    Info { user_id: String },
    /// Change an end user's settings.
    Update {
        user_id: String,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Delete end users.
    Delete {
        #[arg(required = true)]
        user_ids: Vec<String>,
    },
    /// Refuse requests naming these end users.
    Block {
        #[arg(required = true)]
        user_ids: Vec<String>,
    },
    /// Serve them again.
    Unblock {
        #[arg(required = true)]
        user_ids: Vec<String>,
    },
}

#[derive(clap::Args)]
struct SpecArgs {
    #[arg(long)]
    alias: Option<String>,
    /// Budget in USD.
    #[arg(long)]
    max_budget: Option<f64>,
    /// Budget period: 30s, 30m, 30h, 30d, 1mo.
    #[arg(long)]
    budget_duration: Option<String>,
    #[arg(long)]
    rpm_limit: Option<i64>,
    #[arg(long)]
    tpm_limit: Option<i64>,
    /// `eu` or `us`.
    #[arg(long)]
    region: Option<String>,
    #[arg(long)]
    default_model: Option<String>,
}

impl SpecArgs {
    fn spec(&self) -> CustomerSpec {
        CustomerSpec {
            alias: self.alias.clone(),
            max_budget: self.max_budget,
            budget_duration: self.budget_duration.clone(),
            rpm_limit: self.rpm_limit,
            tpm_limit: self.tpm_limit,
            allowed_model_region: self.region.clone(),
            default_model: self.default_model.clone(),
            ..CustomerSpec::default()
        }
    }
}

fn show(c: &Connection, customer: &Customer) {
    if c.json {
        print_json(&Value::Object(customer_json(customer)));
        return;
    }
    print_line(&format!("user_id: {}", customer.user_id));
    print_line(&format!(
        "alias:   {}",
        customer.alias.as_deref().unwrap_or("-")
    ));
    print_line(&format!(
        "budget:  {}   spend: ${:.6}   blocked: {}",
        customer
            .max_budget
            .map_or_else(|| "none".to_string(), |b| format!("${b}")),
        customer.spend,
        customer.blocked
    ));
}

fn table(c: &Connection, customers: &[Customer]) {
    if c.json {
        print_json(&Value::Array(
            customers
                .iter()
                .map(|x| Value::Object(customer_json(x)))
                .collect(),
        ));
        return;
    }
    print_table(
        &["USER_ID", "ALIAS", "BUDGET", "SPEND", "REGION", "STATUS"],
        customers
            .iter()
            .map(|x| {
                vec![
                    x.user_id.clone(),
                    x.alias.clone().unwrap_or_else(|| "-".into()),
                    x.max_budget.map_or_else(|| "-".into(), |b| format!("${b}")),
                    format!("${:.6}", x.spend),
                    x.allowed_model_region.clone().unwrap_or_else(|| "-".into()),
                    if x.blocked { "blocked" } else { "active" }.into(),
                ]
            })
            .collect(),
    );
    print_line(&format!("{} customer(s)", customers.len()));
}

pub async fn run(args: CustomersArgs) -> anyhow::Result<()> {
    let c = args.connection;
    let mut client = c.client().await?;
    match args.command {
        CustomersCommand::Create { user_id, spec } => {
            let request = CreateCustomerRequest {
                user_id,
                spec: Some(spec.spec()),
            };
            let r = client
                .create_customer(c.request(request)?)
                .await
                .map_err(explain)?
                .into_inner();
            if let Some(x) = &r.customer {
                show(&c, x);
            }
        }
        CustomersCommand::List => {
            let r = client
                .list_customers(c.request(ListCustomersRequest {})?)
                .await
                .map_err(explain)?
                .into_inner();
            table(&c, &r.customers);
        }
        CustomersCommand::Info { user_id } => {
            let r = client
                .get_customer(c.request(GetCustomerRequest { user_id })?)
                .await
                .map_err(explain)?
                .into_inner();
            if let Some(x) = &r.customer {
                show(&c, x);
            }
        }
        CustomersCommand::Update { user_id, spec } => {
            let request = UpdateCustomerRequest {
                user_id,
                spec: Some(spec.spec()),
            };
            let r = client
                .update_customer(c.request(request)?)
                .await
                .map_err(explain)?
                .into_inner();
            if let Some(x) = &r.customer {
                show(&c, x);
            }
        }
        CustomersCommand::Delete { user_ids } => {
            let r = client
                .delete_customers(c.request(DeleteCustomersRequest { user_ids })?)
                .await
                .map_err(explain)?
                .into_inner();
            if c.json {
                print_json(&json!({"deleted_customers": r.deleted_user_ids}));
            } else {
                print_line(&format!("deleted {} customer(s)", r.deleted_user_ids.len()));
            }
        }
        CustomersCommand::Block { user_ids } => {
            let r = client
                .set_customer_blocked(c.request(SetCustomerBlockedRequest {
                    user_ids,
                    blocked: true,
                })?)
                .await
                .map_err(explain)?
                .into_inner();
            table(&c, &r.customers);
        }
        CustomersCommand::Unblock { user_ids } => {
            let r = client
                .set_customer_blocked(c.request(SetCustomerBlockedRequest {
                    user_ids,
                    blocked: false,
                })?)
                .await
                .map_err(explain)?
                .into_inner();
            table(&c, &r.customers);
        }
    }
    Ok(())
}
