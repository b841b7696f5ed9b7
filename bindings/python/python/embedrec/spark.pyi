from os import PathLike
from typing import Any, Optional, Union

def fit(
    df: Any,
    model: Any,
    user_col: str = "user",
    item_col: str = "item",
    rating_col: Optional[str] = "rating",
    time_col: Optional[str] = None,
    scale: Optional[tuple[float, float]] = None,
    valid: Any = None,
    verbose: bool = False,
) -> Any: ...
def recommend_for_all_users(
    model: Union[Any, str, PathLike[str]],
    users_df: Any,
    n: int = 10,
    user_col: str = "user",
    exclude_seen: bool = True,
    item_type: str = "auto",
    threads: int = 1,
) -> Any: ...
def predict(
    model: Union[Any, str, PathLike[str]],
    pairs_df: Any,
    user_col: str = "user",
    item_col: str = "item",
    output_col: str = "prediction",
    time_col: Optional[str] = None,
) -> Any: ...
def cross_validate(
    df: Any,
    model: Any,
    folds: int = 5,
    seed: Optional[int] = None,
    k: int = 10,
    threshold: Optional[float] = 4.0,
    user_col: str = "user",
    item_col: str = "item",
    rating_col: Optional[str] = "rating",
    time_col: Optional[str] = None,
) -> dict[str, Any]: ...
def search(
    df: Any,
    model: Any,
    grid: dict[str, list[Any]],
    folds: int = 1,
    val_share: float = 0.1,
    seed: Optional[int] = None,
    threshold: Optional[float] = 4.0,
    user_col: str = "user",
    item_col: str = "item",
    rating_col: Optional[str] = "rating",
    time_col: Optional[str] = None,
) -> dict[str, Any]: ...
