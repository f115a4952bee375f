//! The category tree: categories with their materialized paths, and the
//! tree built from them.

use serde::{Deserialize, Serialize};

use super::{MAX_CATEGORY_LEVEL, MAX_TITLE_CHARS};
use crate::error::{Error, Result};
use crate::ids::CategoryId;
use crate::text::required_line;

/// A node of the category tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    /// Id.
    pub id: CategoryId,
    /// Name.
    pub name: String,
    /// Parent (None for a root).
    pub parent_id: Option<CategoryId>,
    /// Whether it holds categories rather than products.
    pub is_directory: bool,
    /// Depth: 0 for a root.
    pub level: u32,
    /// Ancestor ids, e.g. `-1-4-` for a category under 4 under 1; `-` for a root.
    pub path: String,
}

impl Category {
    /// A new category under `parent` (which must be a directory).
    pub fn new(
        id: CategoryId,
        name: &str,
        is_directory: bool,
        parent: Option<&Category>,
    ) -> Result<Category> {
        let name = required_line("name", name, MAX_TITLE_CHARS)?;
        let (level, path) = match parent {
            None => (0, "-".to_owned()),
            Some(p) if !p.is_directory => {
                return Err(Error::refused("parent_id", "the parent is not a directory"))
            }
            Some(p) if p.level >= MAX_CATEGORY_LEVEL => {
                return Err(Error::refused(
                    "parent_id",
                    format!(
                        "categories nest at most {} levels deep",
                        MAX_CATEGORY_LEVEL + 1
                    ),
                ))
            }
            Some(p) => (p.level + 1, p.subtree_prefix()),
        };
        Ok(Category {
            id,
            name: name.to_owned(),
            parent_id: parent.map(|p| p.id),
            is_directory,
            level,
            path,
        })
    }

    /// The path prefix every descendant's path starts with: `path + id + "-"`.
    pub fn subtree_prefix(&self) -> String {
        format!("{}{}-", self.path, self.id)
    }

    /// Ancestor ids from the root down, read from the path.
    pub fn ancestor_ids(&self) -> Vec<CategoryId> {
        self.path
            .split('-')
            .filter_map(|s| s.parse::<i64>().ok())
            .map(CategoryId)
            .collect()
    }
}

/// A category with its children, for rendering the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryNode {
    /// The category.
    pub category: Category,
    /// Its children, by id.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<CategoryNode>,
}

/// Builds the tree from a flat list (any order). Children are sorted by id.
pub fn category_tree(mut all: Vec<Category>) -> Vec<CategoryNode> {
    all.sort_by_key(|c| c.id);
    fn children_of(parent: Option<CategoryId>, all: &[Category]) -> Vec<CategoryNode> {
        all.iter()
            .filter(|c| c.parent_id == parent)
            .map(|c| CategoryNode {
                category: c.clone(),
                children: children_of(Some(c.id), all),
            })
            .collect()
    }
    children_of(None, &all)
}
