from django.contrib import admin

from territories.models import Intercommunality, Region, Territory, TerritoryIntercommunality


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "zone"]
    search_fields = ["code", "name"]


@admin.register(Intercommunality)
class IntercommunalityAdmin(admin.ModelAdmin):
    list_display = ["siren", "name", "kind", "population", "main_region"]
    list_filter = ["kind", "main_region"]
    search_fields = ["siren", "name"]


class TerritoryIntercommunalityInline(admin.TabularInline):
    model = TerritoryIntercommunality
    extra = 0
    autocomplete_fields = ["intercommunality"]


@admin.register(Territory)
class TerritoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "pilot_region"]
    list_filter = ["pilot_region"]
    search_fields = ["code", "name"]
    inlines = [TerritoryIntercommunalityInline]
