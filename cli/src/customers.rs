//! `tollgate customers …`: end users through the AdminService.

use crate::admin::{Client, Connection};
use crate::table::{
    budget_cell, json_rows, or_dash, print_deleted, print_json, print_line, print_table,
    status_cell,
};
use serde_json::Value;
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

fn show(c: &Connection, customer: Option<&Customer>) {
    let Some(customer) = customer else { return };
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
        budget_cell(customer.max_budget, "none"),
        customer.spend,
        customer.blocked
    ));
}

fn table(c: &Connection, customers: &[Customer]) {
    if c.json {
        print_json(&json_rows(customers, customer_json));
        return;
    }
    print_table(
        &["USER_ID", "ALIAS", "BUDGET", "SPEND", "REGION", "STATUS"],
        customers
            .iter()
            .map(|x| {
                vec![
                    x.user_id.clone(),
                    or_dash(x.alias.as_deref()),
                    budget_cell(x.max_budget, "-"),
                    format!("${:.6}", x.spend),
                    or_dash(x.allowed_model_region.as_deref()),
                    status_cell(x.blocked),
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
            let r = c
                .call(&mut client, request, Client::create_customer)
                .await?;
            show(&c, r.customer.as_ref());
        }
        CustomersCommand::List => {
            let request = ListCustomersRequest {};
            let r = c.call(&mut client, request, Client::list_customers).await?;
            table(&c, &r.customers);
        }
        CustomersCommand::Info { user_id } => {
            let request = GetCustomerRequest { user_id };
            let r = c.call(&mut client, request, Client::get_customer).await?;
            show(&c, r.customer.as_ref());
        }
        CustomersCommand::Update { user_id, spec } => {
            let request = UpdateCustomerRequest {
                user_id,
                spec: Some(spec.spec()),
            };
            let r = c
                .call(&mut client, request, Client::update_customer)
                .await?;
            show(&c, r.customer.as_ref());
        }
        CustomersCommand::Delete { user_ids } => {
            let request = DeleteCustomersRequest { user_ids };
            let r = c
                .call(&mut client, request, Client::delete_customers)
                .await?;
            print_deleted(c.json, &[("customers", "customer", &r.deleted_user_ids)]);
        }
        CustomersCommand::Block { user_ids } => {
            set_blocked(&c, &mut client, user_ids, true).await?
        }
        CustomersCommand::Unblock { user_ids } => {
            set_blocked(&c, &mut client, user_ids, false).await?
        }
    }
    Ok(())
}

async fn set_blocked(
    c: &Connection,
    client: &mut Client,
    user_ids: Vec<String>,
    blocked: bool,
) -> anyhow::Result<()> {
    let request = SetCustomerBlockedRequest { user_ids, blocked };
    let r = c
        .call(client, request, Client::set_customer_blocked)
        .await?;
    table(c, &r.customers);
    Ok(())
}
