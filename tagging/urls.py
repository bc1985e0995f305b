from django.urls import path

from tagging import views

app_name = "tagging"

urlpatterns = [
    path("staff/review/", views.review_queue, name="review-queue"),
    path("staff/review/decide/", views.review_decide, name="review-decide"),
    path("staff/review/undo/", views.review_undo, name="review-undo"),
    path("staff/images/<int:image_id>/", views.image_thumbnail, name="image-file"),
    path("staff/dashboard/", views.dashboard, name="dashboard"),
]
