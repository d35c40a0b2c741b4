"""What categories and statuses are called on pages and in emails, and the pictures beside them."""
from flask_babel import lazy_gettext as _l

from .models import Category, ItemStatus

CATEGORY_LABELS = {
    Category.CAMERA.value: _l("Camera"),
    Category.BATTERY.value: _l("Battery"),
    Category.SYSTEM.value: _l("System"),
    Category.APPS.value: _l("Apps"),
    Category.PRICE.value: _l("Price"),
    Category.SERVICE.value: _l("Service"),
    Category.OTHER.value: _l("Other"),
}
CATEGORY_ICONS = {
    Category.CAMERA.value: "📷", Category.BATTERY.value: "🔋", Category.SYSTEM.value: "⚙️",
    Category.APPS.value: "📱", Category.PRICE.value: "💴", Category.SERVICE.value: "🛠️", Category.OTHER.value: "💬",
}
STATUS_LABELS = {
    ItemStatus.NEW.value: _l("New"),
    ItemStatus.UNDER_REVIEW.value: _l("Under review"),
    ItemStatus.PLANNED.value: _l("Planned"),
    ItemStatus.IN_DEVELOPMENT.value: _l("In development"),
    ItemStatus.SHIPPED.value: _l("Shipped"),
    ItemStatus.DECLINED.value: _l("Declined"),
    ItemStatus.DUPLICATE.value: _l("Duplicate"),
}
