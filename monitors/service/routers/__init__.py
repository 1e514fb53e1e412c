"""One ``APIRouter`` per resource: predictions, labels, models, metrics, health, prometheus."""
