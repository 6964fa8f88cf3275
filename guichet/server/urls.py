from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from guichet.core import views as core_views

admin.site.site_header = "Guichet"
admin.site.site_title = "Guichet"

urlpatterns = [
    path("", RedirectView.as_view(url="/enrollment/", permanent=False)),
    path("healthz", core_views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the pages link: send them to the SVG the pages name.
    path("favicon.ico", RedirectView.as_view(url=static("guichet/favicon.svg"), permanent=False)),
    path("readyz", core_views.readyz, name="readyz"),
    path("brand.css", core_views.brand_css, name="brand_css"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("enrollment/", include("guichet.issuer.enrollment.urls")),
    path("3ds/", include("guichet.issuer.acs.urls")),
    path("3ds/", include("guichet.issuer.acs.challenge.urls")),
    path("api/v1/", include("guichet.payonbill.merchants.urls")),
    path("api/issuer/v1/", include("guichet.issuer.cards.api.urls")),
    path("api/operator/v1/", include("guichet.payonbill.subscribers.operator_urls")),
    path("pay/", include("guichet.payonbill.checkout.urls")),
    path("account/", include("guichet.payonbill.subscribers.urls")),
    path("admin/", admin.site.urls),
]

if settings.GUICHET.demo:
    urlpatterns.append(path("dev/", include("guichet.demo.inbox.urls")))
    urlpatterns.append(path("demo/", include("guichet.demo.shop.urls")))
