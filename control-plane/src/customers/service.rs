//! LiteLLM's customer operations over `customers`.

use super::convert::{apply_spec, blank, customer_to_proto};
use crate::db::{CustomerRow, Customers};
use crate::manage_error::{ManageError, is_unique_violation};
use crate::publisher::{Changed, Publisher};
use chrono::Utc;
use sea_orm::{IntoActiveModel, Set};
use std::sync::Arc;
use tollgate_proto::v1::{
    CreateCustomerRequest, CustomerResponse, DeleteCustomersRequest, DeleteCustomersResponse,
    ListCustomersResponse, SetCustomerBlockedRequest, UpdateCustomerRequest,
};

pub struct CustomerService {
    customers: Customers,
    publisher: Arc<Publisher>,
}

impl CustomerService {
    pub fn new(db: sea_orm::DatabaseConnection, publisher: Arc<Publisher>) -> Self {
        Self {
            customers: Customers::new(db),
            publisher,
        }
    }

    async fn existing(&self, user_id: &str) -> Result<CustomerRow, ManageError> {
        if user_id.trim().is_empty() {
            return Err(ManageError::invalid("user_id", "is required"));
        }
        self.customers.find(user_id).await?.ok_or_else(|| {
            ManageError::NotFound(format!(
                "Customer not found, passed user_id={user_id}. Check /customer/list for existing customers."
            ))
        })
    }

    async fn respond(&self, row: &CustomerRow) -> Result<CustomerResponse, ManageError> {
        let snapshot_version = self
            .publisher
            .publish_changes(&Changed::customers([row.user_id.clone()]))
            .await?;
        Ok(CustomerResponse {
            customer: Some(customer_to_proto(row)),
            snapshot_version,
        })
    }

    pub async fn create(
        &self,
        request: CreateCustomerRequest,
    ) -> Result<CustomerResponse, ManageError> {
        let user_id = request.user_id.trim().to_string();
        if user_id.is_empty() {
            return Err(ManageError::invalid("user_id", "is required"));
        }
        if self.customers.find(&user_id).await?.is_some() {
            return Err(ManageError::Conflict(format!(
                "Customer already exists, passed user_id={user_id}. Use /customer/update to change it."
            )));
        }
        let now = Utc::now();
        let mut row = blank(user_id.clone(), now);
        apply_spec(&request.spec.unwrap_or_default(), &mut row, now)?;
        let stored = self.customers.insert(row).await.map_err(|e| {
            if is_unique_violation(&e) {
                ManageError::Conflict(format!(
                    "Customer already exists, passed user_id={user_id}."
                ))
            } else {
                ManageError::Database(e)
            }
        })?;
        self.respond(&stored).await
    }

    pub async fn update(
        &self,
        request: UpdateCustomerRequest,
    ) -> Result<CustomerResponse, ManageError> {
        let existing = self.existing(&request.user_id).await?;
        let now = Utc::now();
        let mut row = existing.into_active_model();
        apply_spec(&request.spec.unwrap_or_default(), &mut row, now)?;
        row.updated_at = Set(now);
        let stored = self.customers.update(row).await?;
        self.respond(&stored).await
    }

    /// All or nothing: every customer must exist.
    pub async fn delete(
        &self,
        request: DeleteCustomersRequest,
    ) -> Result<DeleteCustomersResponse, ManageError> {
        if request.user_ids.is_empty() {
            return Err(ManageError::invalid(
                "user_ids",
                "pass at least one customer id",
            ));
        }
        for id in &request.user_ids {
            self.existing(id).await?;
        }
        self.customers.delete_many(&request.user_ids).await?;
        let snapshot_version = self
            .publisher
            .publish_changes(&Changed::customers(request.user_ids.iter().cloned()))
            .await?;
        Ok(DeleteCustomersResponse {
            deleted_user_ids: request.user_ids,
            snapshot_version,
        })
    }

    pub async fn get(&self, user_id: &str) -> Result<CustomerResponse, ManageError> {
        let row = self.existing(user_id).await?;
        Ok(CustomerResponse {
            customer: Some(customer_to_proto(&row)),
            snapshot_version: 0,
        })
    }

    pub async fn list(&self) -> Result<ListCustomersResponse, ManageError> {
        Ok(ListCustomersResponse {
            customers: self
                .customers
                .all()
                .await?
                .iter()
                .map(customer_to_proto)
                .collect(),
            snapshot_version: 0,
        })
    }

    /// All or nothing, like delete.
    pub async fn set_blocked(
        &self,
        request: SetCustomerBlockedRequest,
    ) -> Result<ListCustomersResponse, ManageError> {
        if request.user_ids.is_empty() {
            return Err(ManageError::invalid(
                "user_ids",
                "pass at least one customer id",
            ));
        }
        let mut rows = Vec::new();
        for id in &request.user_ids {
            rows.push(self.existing(id).await?);
        }
        let now = Utc::now();
        let mut customers = Vec::new();
        for row in rows {
            let mut active = row.into_active_model();
            active.blocked = Set(request.blocked);
            active.updated_at = Set(now);
            customers.push(customer_to_proto(&self.customers.update(active).await?));
        }
        let snapshot_version = self
            .publisher
            .publish_changes(&Changed::customers(request.user_ids.iter().cloned()))
            .await?;
        Ok(ListCustomersResponse {
            customers,
            snapshot_version,
        })
    }
}
